"""``tune``: an Optuna study whose trials are ordinary lamina training runs.

Each trial sets the sampled values into a copy of the config, trains it through ``train_fn``
(the CLI passes the function behind ``lamina train``, so every trial has its own run directory
and history), and reports the validation metric after every epoch so a pruner can stop it.
Several workers share one study through an RDB (``sqlite:///study.db``, or a server URL for many
machines) or a journal file (``journal:///path.log``); a killed study continues from its storage,
and the trial budget counts the trials finished by every worker together.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ..train.callbacks import Callback
from .space import apply_params, grid_space, suggest, validate_space

__all__ = ["tune", "make_sampler", "make_pruner", "make_storage", "TrialReporter",
           "import_optuna"]

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")


def import_optuna():
    """Optuna, or an ImportError naming the extra to install."""
    try:
        import optuna
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("lamina.tune needs Optuna: pip install 'lamina[tune]'") from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(name: str, space: dict, seed: int | None = 0):
    """An Optuna sampler by name: ``tpe``, ``random``, ``grid`` or ``cmaes``.

    Args:
        name (str): the sampler. space (dict): the validated space (the grid needs it).
        seed (int, optional): sampler seed. Default 0.

    Returns:
        optuna.samplers.BaseSampler.
    """
    optuna = import_optuna()
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed, n_startup_trials=8)
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "grid":
        return s.GridSampler(grid_space(space), seed=seed)
    if name == "cmaes":
        import importlib.util
        if importlib.util.find_spec("cmaes") is None:
            raise ImportError("tune: the cmaes sampler needs the 'cmaes' package: "
                              "pip install cmaes")
        return s.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"tune: expected sampler in {SAMPLERS}, got {name!r}")


def make_pruner(name: str, max_epochs: int = 20):
    """An Optuna pruner by name: ``median``, ``hyperband`` or ``none``.

    Args:
        name (str): the pruner.
        max_epochs (int): the trials' epoch budget (Hyperband's ``max_resource``). Default 20.

    Returns:
        optuna.pruners.BasePruner.
    """
    p = import_optuna().pruners
    if name == "median":
        return p.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if name == "hyperband":
        return p.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 2),
                                 reduction_factor=3)
    if name in ("none", None):
        return p.NopPruner()
    raise ValueError(f"tune: expected pruner in {PRUNERS}, got {name!r}")


def make_storage(url: str | None):
    """``None`` (in memory), an RDB URL (``sqlite:///study.db``, ``postgresql://...``) with a
    30 s lock timeout and heartbeats (a killed worker's trial is marked failed), or
    ``journal:///path.log`` (a file journal, safe on NFS)."""
    if url is None:
        return None
    optuna = import_optuna()
    if url.startswith("journal://"):
        from optuna.storages.journal import JournalFileBackend
        return optuna.storages.JournalStorage(JournalFileBackend(url[len("journal://"):]))
    import warnings
    kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 4-5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=15,
                                          grace_period=60)


class TrialReporter(Callback):
    """Report ``logs[metric]`` to the trial after every epoch and prune when told to.

    Args:
        trial (optuna.Trial): the trial.
        metric (str): the log key, e.g. ``val_accuracy``.
    """

    def __init__(self, trial, metric: str):
        super().__init__()
        self.trial, self.metric, self.epochs, self.values = trial, metric, 0, []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.metric not in logs:
            raise KeyError(f"tune: expected metric {self.metric!r} in the epoch logs, got "
                           f"{sorted(logs)} (validation metrics need data.val_size > 0)")
        value = float(logs[self.metric])
        self.epochs += 1
        self.values.append(value)
        self.trial.set_user_attr("epochs", self.epochs)
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            import optuna
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")


def _resolve(train_fn):
    if isinstance(train_fn, str):
        mod, _, name = train_fn.partition(":")
        return getattr(importlib.import_module(mod), name)
    return train_fn


def _objective(config, space, train_fn, metric):
    fn = _resolve(train_fn)

    def objective(trial):
        params = suggest(trial, space)
        cfg = apply_params(config, params)
        cfg.setdefault("train", {})
        reporter = TrialReporter(trial, metric)
        out = fn(cfg, [reporter], f"trial-{trial.number:04d}")
        if out is not None:
            trial.set_user_attr("run_dir", str(out))
        if not reporter.values:
            raise RuntimeError(f"tune: trial {trial.number} reported no {metric!r}")
        return reporter.values[-1]
    return objective


def tune(objective_config: dict, space: dict, n_trials: int, train_fn, sampler: str = "tpe",
         pruner: str = "median", storage: str | None = None, study_name: str = "lamina",
         metric: str = "val_accuracy", direction: str = "maximize", seed: int = 0,
         workers: int = 1, out_dir=None, timeout: float | None = None):
    """Search ``space`` around ``objective_config`` with Optuna; returns the study.

    Args:
        objective_config (dict): a validated run config (the ``lamina train`` schema).
        space (dict): ``{dotted_key: spec}`` (see :mod:`lamina.tune.space`).
        n_trials (int): finished trials (complete or pruned) the study should hold, counted
            over every worker and earlier sessions of the same stored study.
        train_fn (callable | str): ``train_fn(config, callbacks, name) -> run_dir`` trains one
            config, calling ``callbacks``' ``on_epoch_end`` (a Trainer does); or
            ``"module:function"`` (needed with ``workers > 1``).
            ``lamina.cli.cmd_tune:train_config`` is ``lamina train``'s.
        sampler (str): ``tpe``, ``random``, ``grid`` or ``cmaes``. Default ``tpe``.
        pruner (str): ``median``, ``hyperband`` or ``none``. Default ``median``.
        storage (str, optional): ``sqlite:///study.db``, another RDB URL or
            ``journal:///file``. Default None (in memory; a sqlite file in ``out_dir`` when
            ``workers > 1``).
        study_name (str): Default ``"lamina"``. metric (str): Default ``"val_accuracy"``.
        direction (str): ``maximize`` or ``minimize``. Default ``maximize``.
        seed (int): sampler seed (worker ``k`` uses ``seed + k``). Default 0.
        workers (int): processes sharing the study. Default 1.
        out_dir (str, optional): write ``best_config.toml``, ``trials.csv`` and the PNGs
            here. Default None (nothing written).
        timeout (float, optional): stop starting trials after this many seconds.

    Returns:
        optuna.Study.

    Example:
        >>> from lamina.cli.cmd_tune import train_config
        >>> study = tune(cfg, {"optim.lr": {"type": "float", "low": 1e-4, "high": 0.1,
        ...                                 "log": True}}, 30, train_config)
        >>> study.best_params
    """
    optuna = import_optuna()
    validate_space(space)
    if workers > 1:
        if not isinstance(train_fn, str):
            raise ValueError("tune: workers > 1 need train_fn as a 'module:function' string "
                             f"(each worker process imports it), got {train_fn!r}")
        if storage is None:
            if out_dir is None:
                raise ValueError("tune: workers > 1 need storage= or out_dir= (for a sqlite "
                                 "file the workers share)")
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            storage = f"sqlite:///{Path(out_dir).resolve() / 'study.db'}"
    epochs = int(objective_config.get("train", {}).get("epochs", 20))
    study = optuna.create_study(storage=make_storage(storage), study_name=study_name,
                                direction=direction, load_if_exists=True,
                                sampler=make_sampler(sampler, space, seed),
                                pruner=make_pruner(pruner, epochs))
    spec = {"config": objective_config, "space": space, "n_trials": n_trials,
            "train_fn": train_fn, "sampler": sampler, "pruner": pruner, "storage": storage,
            "study_name": study_name, "metric": metric, "direction": direction,
            "seed": seed, "timeout": timeout}
    if workers > 1:
        _run_workers(spec, workers, out_dir)
    else:
        _optimize(study, spec)
    if out_dir is not None:
        from .output import write_outputs
        write_outputs(study, objective_config, out_dir)
    return study


def _optimize(study, spec) -> None:
    optuna = import_optuna()
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    left = spec["n_trials"] - len(study.get_trials(deepcopy=False, states=done))
    if left <= 0:
        return
    stop = optuna.study.MaxTrialsCallback(spec["n_trials"], states=done)
    study.optimize(_objective(spec["config"], spec["space"], spec["train_fn"], spec["metric"]),
                   n_trials=left, timeout=spec["timeout"], callbacks=[stop],
                   catch=(FloatingPointError,))


def _run_workers(spec, workers: int, out_dir) -> None:
    path = Path(out_dir) / "tune_spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-m", "lamina.tune.worker", str(path), str(k)],
                              env=env) for k in range(workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise RuntimeError(f"tune: worker exit codes {codes} (see their messages above)")


def run_worker(spec_path: str, index: int) -> None:
    """One worker process: load the shared study and optimise until the budget is met."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    optuna = import_optuna()
    epochs = int(spec["config"].get("train", {}).get("epochs", 20))
    study = optuna.load_study(study_name=spec["study_name"],
                              storage=make_storage(spec["storage"]),
                              sampler=make_sampler(spec["sampler"], spec["space"],
                                                   spec["seed"] + index),
                              pruner=make_pruner(spec["pruner"], epochs))
    _optimize(study, spec)

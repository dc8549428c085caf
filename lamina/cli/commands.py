"""The subcommands: train (and --resume), evaluate, predict, summary, datasets."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import backend as B
from .. import data as D
from .. import io, metrics, nn
from ..nn.utils import batched_eval
from ..train import Trainer
from ..train.callbacks import CSVLogger, EarlyStopping
from .build import build_model, build_optimizer, build_scheduler
from .config import ConfigError, apply_overrides, dumps_toml, load_config, validate
from .data import augmentation, prepare_data

np = B.np

__all__ = ["train", "CKPT"]

CKPT = "checkpoint.safetensors"


def _loaders(rd, cfg):
    d, seed = cfg["data"], cfg["train"]["seed"]
    aug = augmentation(d.get("augment", []), rd.input_shape)
    train = D.DataLoader(D.ArrayDataset(rd.x_train, rd.y_train), batch_size=d["batch_size"],
                         shuffle=True, seed=seed, transform=aug)
    val = None
    if rd.x_val is not None:
        val = D.DataLoader(D.ArrayDataset(rd.x_val, rd.y_val), batch_size=256)
    return train, val


def _loss(task):
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


def _predict(model, x, batch=512):
    return batched_eval(model, x, batch_size=batch)


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _test_metrics(rd, out) -> dict:
    if rd.task == "classification":
        pred = out.argmax(1)
        res = {"accuracy": float(metrics.accuracy(rd.y_test, pred)),
               "f1_macro": float(metrics.f1_score(rd.y_test, pred, average="macro")),
               "confusion_matrix": metrics.confusion_matrix(rd.y_test, pred).tolist()}
        p = _softmax(out)
        if rd.n_out == 2:
            res["roc_auc"] = float(metrics.roc_auc(rd.y_test, p[:, 1]))
        res["ece"] = float(metrics.expected_calibration_error(p, rd.y_test))
        res["nll"] = float(metrics.negative_log_likelihood(p, rd.y_test))
        res["brier"] = float(metrics.brier_score(p, rd.y_test))
        return res
    pred = rd.y_scaler.inverse_transform(out) if rd.y_scaler is not None else out
    y = np.asarray(rd.y_test)
    return {"mse": float(metrics.mse(y, pred)), "mae": float(metrics.mae(y, pred)),
            "r2": float(metrics.r2(y.ravel(), pred.ravel()))}


def _report(res: dict, task: str) -> list:
    if task == "classification":
        lines = [f"test accuracy {res['accuracy']:.3f}", f"macro F1 {res['f1_macro']:.3f}"]
        if "roc_auc" in res:
            lines.append(f"ROC-AUC {res['roc_auc']:.3f}")
        if "ece" in res:
            lines.append(f"calibration: ECE {100 * res['ece']:.2f}%, NLL {res['nll']:.4f}, "
                         f"Brier {res['brier']:.4f}")
        return lines
    return [f"test MSE {res['mse']:.4g}", f"test MAE {res['mae']:.4g}", f"test R2 {res['r2']:.3f}"]


def _run_dir(cfg) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(cfg["train"].get("out_dir", "runs")) / f"{cfg.get('name', 'run')}-{stamp}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    path.mkdir(parents=True)
    return path


def _scalers_state(rd) -> dict:
    out = {}
    for key, sc in (("x_scaler", rd.x_scaler), ("y_scaler", rd.y_scaler)):
        if sc is not None:
            out[key] = {"type": type(sc).__name__, "state": sc.state_dict()}
    return out


def _adversarial_step(cfg, rd):
    """The ``[adversarial]`` section as a ``lamina.robust`` training step (None: plain)."""
    a = cfg.get("adversarial")
    if not a or rd.task != "classification":
        return None
    from ..robust import adversarial_training
    x = np.asarray(rd.x_train)
    return adversarial_training(a.get("method", "pgd"), eps=a.get("eps", 0.1),
                                alpha=a.get("alpha"), steps=a.get("steps", 10),
                                beta=a.get("beta", 6.0), clip_min=float(x.min()),
                                clip_max=float(x.max()))


def train(config_path=None, sets=(), resume=None, verbose=1, extra_callbacks=(),
          nproc=1) -> Path:
    """``lamina train``: train, evaluate on the test part, write the run directory.

    ``extra_callbacks`` are appended to the run's callbacks (``lamina tune`` reports each
    epoch's validation metric to its trial through one)."""
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "config.toml").exists():
            raise ConfigError(f"--resume: {run_dir} is not a run directory (no config.toml)")
        if not (run_dir / CKPT).exists():
            raise ConfigError(f"--resume: {run_dir} has no {CKPT} to resume from; start a new "
                              "run with `lamina train` instead")
        if config_path is not None:
            raise ConfigError("--resume: a run resumes with its own config.toml; drop the "
                              f"CONFIG argument {config_path!r}")
        bad = [s for s in sets if s.partition("=")[0].strip() != "train.epochs"]
        if bad:
            raise ConfigError(f"--resume: only train.epochs may change on resume, got --set "
                              f"{bad[0]!r}")
        cfg = validate(apply_overrides(load_config(str(run_dir / "config.toml")), list(sets)))
        sched_name = cfg.get("schedule", {}).get("name", "none")
        if sets and sched_name in ("onecycle", "cosine", "warmup_cosine"):
            raise ConfigError(f"--resume: train.epochs cannot change for schedule.name "
                              f"{sched_name!r} (its length is fixed by the original epochs); "
                              "start a new run with the longer train.epochs instead")
        if sets and (cfg.get("privacy") or {}).get("epsilon") is not None:
            raise ConfigError("--resume: train.epochs cannot change for a [privacy] epsilon "
                              "run (its noise multiplier was chosen for the original epochs); "
                              "start a new run, or give privacy.noise_multiplier instead")
    else:
        cfg = validate(apply_overrides(load_config(config_path), list(sets)))
    from .cmd_distributed import train_distributed, wants_distributed
    if wants_distributed(cfg, nproc):  # --nproc N, a [distributed] section or under mpiexec
        if cfg.get("privacy"):
            raise ConfigError("config: [privacy] (DP-SGD) runs in one process; drop --nproc "
                              "or the [distributed] section")
        return train_distributed(cfg, config_path, sets, resume, verbose, nproc)
    rd = prepare_data(cfg)
    B.manual_seed(cfg["train"]["seed"])  # fixes init, shuffling seed, dropout, augmentation
    model = build_model(cfg["model"], rd.input_shape, rd.n_out)
    opt = build_optimizer(cfg["optim"], model.parameters())
    train_loader, val_loader = _loaders(rd, cfg)
    epochs = cfg["train"]["epochs"]
    sched, per_batch = build_scheduler(cfg.get("schedule", {}), opt, epochs, len(train_loader))
    metric = ["accuracy"] if rd.task == "classification" else ["mae"]
    trainer = Trainer(model, opt, _loss(rd.task), metrics=metric, scheduler=sched,
                      scheduler_interval="step" if per_batch else "epoch",
                      grad_clip=cfg["train"].get("grad_clip", 0.0) or None,
                      step_fn=_adversarial_step(cfg, rd),
                      compile=bool(cfg["train"].get("compile", False)))
    from .cmd_fairness import after_train, privatize
    dp_callbacks: list = []  # [privacy]: DP-SGD, wrapped before a resume loads the checkpoint
    train_loader = privatize(cfg, trainer, train_loader, dp_callbacks)  # (accountant history)
    from .fair_train import mitigate
    train_loader = mitigate(cfg, rd, trainer, train_loader)  # [fairness] mitigation
    start = 0
    if resume is not None:
        # the trainer restores model, optimizer, schedule, RNG, loader order and callbacks
        start = trainer.load_checkpoint(run_dir / CKPT)
        log = run_dir / "history.csv"
        if log.exists():  # drop rows of epochs that finished after the last checkpoint
            rows = log.read_text(encoding="utf-8").splitlines(keepends=True)
            io.atomic_write(log, "".join(rows[:1 + start]))
    elif resume is None:
        run_dir = _run_dir(cfg)
        (run_dir / "config.toml").write_text(dumps_toml(cfg), encoding="utf-8")
    callbacks = dp_callbacks + [CSVLogger(str(run_dir / "history.csv"), append=start > 0,
                                          first_epoch=1)]  # epsilon reaches history.csv
    if cfg["train"].get("early_stopping", 0) > 0:
        callbacks.insert(0, EarlyStopping(monitor="val_loss" if val_loader is not None
                                          else "loss", patience=cfg["train"]["early_stopping"],
                                          restore_best_weights=True))
    if cfg["train"].get("tensorboard"):
        from ..train.callbacks import TensorBoard
        callbacks.append(TensorBoard(str(run_dir / "tensorboard")))
    callbacks.extend(extra_callbacks)
    if start < epochs:
        _fit(trainer, run_dir, train_loader, epochs, val_loader, callbacks, verbose)
    if resume is not None and sets:  # extended epochs: remember them in the run's config
        io.atomic_write(run_dir / "config.toml", dumps_toml(cfg))
    out = _predict(model, rd.x_test)
    res = _test_metrics(rd, out)
    _write_outputs(run_dir, cfg, rd, model, trainer.history.history, res)
    after_train(run_dir, cfg, trainer)  # privacy.json; [fairness] audit + model card
    for line in _report(res, rd.task):
        print(line)
    print(f"run written to {run_dir}")
    return run_dir


def _fit(trainer, run_dir, train_loader, epochs, val_loader, callbacks, verbose):
    try:
        trainer.fit(train_loader, epochs=epochs, validation=val_loader, callbacks=callbacks,
                    verbose=verbose, checkpoint=str(run_dir / CKPT))
    except KeyboardInterrupt:
        done = trainer.epoch  # completed epochs (the checkpoint holds the last of them)
        hint = (f"; resume with: lamina train --resume {run_dir}" if (run_dir / CKPT).exists()
                else "")
        raise KeyboardInterrupt(f"interrupted after epoch {done}{hint}") from None


def _write_outputs(run_dir, cfg, rd, model, hist, res) -> None:
    from .plots import plot_confusion, plot_curves
    io.save(model.state_dict(), run_dir / "model.safetensors")
    arch = {"model": cfg["model"], "input_shape": list(rd.input_shape), "n_out": rd.n_out,
            "task": rd.task, "class_names": rd.class_names, "data": rd.meta,
            "transforms": _scalers_state(rd)}
    io.atomic_write(run_dir / "model.json", json.dumps(_jsonable(arch), indent=2))
    io.atomic_write(run_dir / "metrics.json", json.dumps(res, indent=2))
    if hist:
        plot_curves(hist, run_dir / "curves.png")
    if rd.task == "classification":
        plot_confusion(res["confusion_matrix"], rd.class_names, run_dir / "confusion.png")


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if hasattr(o, "tolist"):
        return o.tolist()
    return o

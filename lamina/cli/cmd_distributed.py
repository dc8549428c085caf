"""``lamina train CONFIG --nproc N`` and the ``[distributed]`` config section.

``--nproc N`` outside a launcher starts ``mpiexec -n N python -m lamina train ...`` and returns
its exit status; each rank (under ``--nproc``, an external ``mpiexec`` or ``srun``) then trains
with :class:`~lamina.distributed.DistributedDataParallel` on its :class:`DistributedSampler`
shard (``data.batch_size`` per rank). Rank 0 alone creates the run directory, logs, writes the
atomic checkpoint and the outputs; ``--resume RUN_DIR`` restores every rank from it.

``[distributed]`` keys: ``backend = "mpi"``, ``bucket_mb`` (25), ``mode = "ddp"`` (the CLI runs
DDP; the parameter server and the pipeline are Python APIs), ``lr_scaling`` (``"none"``,
``"linear"`` or ``"sqrt"``: scale ``optim.lr`` by the number of ranks), ``warmup_epochs`` (linear
warm-up to the scaled rate, with ``schedule.name = "none"``), ``timeout`` (seconds a collective
may wait before the job is aborted, 300), ``pipeline_stages`` (reserved, must be 1), ``nproc``
(ranks to launch when ``--nproc`` is not given).

``lamina distributed info`` prints the MPI library, ``mpiexec`` and world size.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["register", "run", "train_distributed", "wants_distributed"]

KEYS = {"backend": str, "bucket_mb": (int, float), "mode": str, "lr_scaling": str,
        "warmup_epochs": int, "timeout": (int, float), "pipeline_stages": int, "nproc": int}


def register(subparsers) -> None:
    """Add ``lamina distributed info``."""
    p = subparsers.add_parser("distributed", help="MPI setup: library, mpiexec, world size")
    p.add_argument("action", choices=("info",))
    p.set_defaults(func=run)


def run(args) -> int:
    """``lamina distributed info``: where mpiexec is, the MPI library, this rank and size."""
    from ..distributed import comm, launch
    print(f"mpiexec: {launch.find_mpiexec()}")
    comm.init()
    if comm.under_launcher():
        from mpi4py import MPI
        print(f"MPI: {MPI.Get_library_version().splitlines()[0]}")
    print(f"rank {comm.rank()} of {comm.world_size()}")
    return 0


def wants_distributed(cfg: dict, nproc: int) -> bool:
    """Whether ``lamina train`` should take the distributed path."""
    from ..distributed import comm
    return nproc > 1 or "distributed" in cfg or (comm.under_launcher()
                                                 and comm.world_size() > 1)


def _check(d: dict) -> dict:
    from .config import ConfigError
    for k, v in d.items():
        if k not in KEYS:
            raise ConfigError(f"config: unknown key distributed.{k}; valid keys: "
                              f"{', '.join(sorted(KEYS))}")
        if not isinstance(v, KEYS[k]) or isinstance(v, bool):
            raise ConfigError(f"config: distributed.{k} has the wrong type: {v!r}")
    checks = [("backend", ("mpi",)), ("mode", ("ddp",)), ("lr_scaling", ("none", "linear",
                                                                        "sqrt"))]
    for key, ok in checks:
        if key in d and d[key] not in ok:
            raise ConfigError(f"config: distributed.{key} must be one of {ok}, got {d[key]!r}"
                              + (" (the async and pipeline modes are Python APIs: "
                                 "lamina.distributed.ParameterServer / Pipeline)"
                                 if key == "mode" else ""))
    if d.get("pipeline_stages", 1) != 1:
        raise ConfigError("config: distributed.pipeline_stages must be 1 in lamina train "
                          "(use lamina.distributed.Pipeline for pipeline parallelism)")
    return d


def _argv(config_path, sets, resume, verbose) -> list:
    argv = ["-m", "lamina", "train"] + ([str(config_path)] if config_path else [])
    for s in sets:
        argv += ["--set", s]
    if resume is not None:
        argv += ["--resume", str(resume)]
    return argv + ([] if verbose else ["--quiet"])


def _shared_path(path) -> Path:
    """Rank 0's path, on every rank."""
    from .. import backend as B
    from ..distributed import comm
    buf = B.np.zeros(4096, B.np.uint8)
    if comm.rank() == 0:
        raw = str(path).encode()
        buf[:len(raw)] = B.np.frombuffer(raw, B.np.uint8)
    comm.broadcast(buf)
    return Path(bytes(buf).rstrip(b"\0").decode())


def train_distributed(cfg, config_path, sets, resume, verbose, nproc):
    """The distributed ``lamina train``: relaunch under mpiexec, or train as one rank.

    Returns:
        Path | int: the run directory (in a rank), or the launcher's exit status.
    """
    from .. import data as D
    from .. import distributed as dist
    from ..distributed import comm, launch
    from ..train.callbacks import CSVLogger, EarlyStopping
    from . import commands as C
    from .build import build_model, build_optimizer, build_scheduler
    from .config import dumps_toml
    from .data import augmentation, prepare_data
    d = _check(dict(cfg.get("distributed", {})))
    nproc = nproc if nproc > 1 else d.get("nproc", 1)  # --nproc wins over distributed.nproc
    if nproc > 1 and not comm.under_launcher():
        rc = launch.launch(nproc, _argv(config_path, sets, resume, verbose))
        if rc:
            raise OSError(f"lamina train --nproc {nproc}: the job exited with status {rc}")
        return rc
    comm.init(timeout=d.get("timeout"))
    world, seed = comm.world_size(), cfg["train"]["seed"]
    if d.get("lr_scaling", "none") != "none":
        cfg["optim"]["lr"] = dist.scale_lr(cfg["optim"]["lr"], world, d["lr_scaling"])
    rd = prepare_data(cfg)
    C.B.manual_seed(seed)
    model = build_model(cfg["model"], rd.input_shape, rd.n_out)
    ddp = dist.DDP(model, bucket_cap_mb=d.get("bucket_mb", 25))
    opt = build_optimizer(cfg["optim"], model.parameters())
    ds = D.ArrayDataset(rd.x_train, rd.y_train)
    loader = D.DataLoader(ds, batch_size=cfg["data"]["batch_size"], seed=seed,
                          sampler=dist.DistributedSampler(ds, seed=seed),
                          transform=augmentation(cfg["data"].get("augment", []),
                                                 rd.input_shape))
    val = None if rd.x_val is None else D.DataLoader(D.ArrayDataset(rd.x_val, rd.y_val),
                                                     batch_size=256)
    epochs = cfg["train"]["epochs"]
    sched, per_batch = build_scheduler(cfg.get("schedule", {}), opt, epochs, len(loader))
    if d.get("warmup_epochs", 0) > 0:
        if sched is not None:
            from .config import ConfigError
            raise ConfigError("config: distributed.warmup_epochs needs schedule.name = "
                              "\"none\" (the warm-up is the schedule)")
        sched, per_batch = dist.warmup_scheduler(opt, d["warmup_epochs"] * len(loader)), True
    trainer = dist.DistributedTrainer(
        ddp, opt, C._loss(rd.task), metrics=["accuracy"] if rd.task == "classification"
        else ["mae"], scheduler=sched, scheduler_interval="step" if per_batch else "epoch",
        grad_clip=cfg["train"].get("grad_clip", 0.0) or None)
    start = 0
    if resume is not None:
        run_dir = Path(resume)
        start = trainer.load_checkpoint(run_dir / C.CKPT)
        log = run_dir / "history.csv"
        if comm.rank() == 0 and log.exists():
            rows = log.read_text(encoding="utf-8").splitlines(keepends=True)
            C.io.atomic_write(log, "".join(rows[:1 + start]))
    else:
        run_dir = None
        if comm.rank() == 0:
            run_dir = C._run_dir(cfg)
            (run_dir / "config.toml").write_text(dumps_toml(cfg), encoding="utf-8")
        run_dir = _shared_path(run_dir)
    logger = CSVLogger(str(run_dir / "history.csv"), append=start > 0, first_epoch=1)
    everywhere = []
    if cfg["train"].get("early_stopping", 0) > 0:
        everywhere.append(EarlyStopping(monitor="val_loss" if val is not None else "loss",
                                        patience=cfg["train"]["early_stopping"],
                                        restore_best_weights=True))
    if start < epochs:
        trainer.fit(loader, epochs=epochs, validation=val, callbacks=everywhere,
                    rank_zero_callbacks=[logger], verbose=verbose,
                    checkpoint=str(run_dir / C.CKPT))
    if comm.rank() == 0:
        res = C._test_metrics(rd, C._predict(model, rd.x_test))
        C._write_outputs(run_dir, cfg, rd, model, trainer.history.history, res)
        for line in C._report(res, rd.task):
            print(line)
        print(f"run written to {run_dir} ({world} ranks)")
    comm.barrier()
    return run_dir

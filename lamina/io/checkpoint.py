"""Whole training checkpoints: model, optimizer, scheduler, epoch, RNG, data-loader position and
history in one safetensors file, so a killed run resumes bit-identically at an epoch boundary."""

from __future__ import annotations

from .. import backend as B
from .serialization import load, save

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1


def _state(obj):
    return obj.state_dict() if hasattr(obj, "state_dict") else obj


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch: int = 0, loader=None,
                    history=None, extra=None) -> None:
    """Atomically write everything needed to continue training after ``epoch`` epochs.

    Stored keys: ``model`` (state dict), ``optimizer``, ``scheduler``, ``loader`` (their
    ``state_dict()``), ``rng`` (:func:`lamina.backend.get_rng_state`), ``epoch``, ``history``
    (a ``History`` or a dict of lists) and ``extra`` (any tree of arrays, numbers, strings).

    Args:
        path (str or PathLike): destination file.
        model (Module): the model.
        optimizer (Optimizer, optional): default None.
        scheduler (optional): an lr scheduler with ``state_dict()``. Default None.
        epoch (int): number of completed epochs. Default 0.
        loader (DataLoader, optional): the training loader (its shuffling state). Default None.
        history (History or dict, optional): default None.
        extra (optional): user data (e.g. callback states, config). Default None.

    Example:
        >>> save_checkpoint("ckpt.safetensors", model, opt, sched, epoch=5, loader=train_loader)
    """
    ckpt = {"lamina_checkpoint": CHECKPOINT_VERSION, "epoch": int(epoch),
            "model": model.state_dict(), "rng": B.get_rng_state()}
    for key, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("loader", loader),
                     ("history", history)):
        if obj is not None:
            ckpt[key] = _state(obj)
    if extra is not None:
        ckpt["extra"] = extra
    save(ckpt, path)


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, loader=None,
                    strict: bool = True, restore_rng: bool = True) -> dict:
    """Restore a :func:`save_checkpoint` file into the given objects (in place).

    Args:
        path (str or PathLike): the checkpoint.
        model (Module, optional): receives the weights (``strict`` key matching).
        optimizer, scheduler, loader (optional): receive their saved states.
        strict (bool): passed to ``model.load_state_dict``. Default True.
        restore_rng (bool): restore lamina's global random state. Default True.

    Returns:
        dict: ``epoch`` (int, completed epochs), ``history`` (dict or None), ``extra``, and the
        raw ``loader`` and ``rng`` states (None when absent), for objects built later.

    Raises:
        ValueError: the file is not a lamina checkpoint, or lacks a state that was asked for.
    """
    ckpt = load(path)
    if not isinstance(ckpt, dict) or "lamina_checkpoint" not in ckpt:
        raise ValueError(f"load_checkpoint: expected a checkpoint written by save_checkpoint, "
                         f"got {path!r} (a plain state dict? load it with lamina.load and "
                         "model.load_state_dict)")
    for key, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("loader", loader)):
        if obj is not None and key not in ckpt:
            raise ValueError(f"load_checkpoint: {path!r} has no {key} state (saved keys: "
                             f"{sorted(ckpt)})")
    if model is not None:
        model.load_state_dict(ckpt["model"], strict=strict)
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    if loader is not None:
        loader.load_state_dict(ckpt["loader"])
    if restore_rng and "rng" in ckpt:
        B.set_rng_state(ckpt["rng"])
    return {"epoch": int(ckpt["epoch"]), "history": ckpt.get("history"),
            "extra": ckpt.get("extra"), "loader": ckpt.get("loader"), "rng": ckpt.get("rng")}

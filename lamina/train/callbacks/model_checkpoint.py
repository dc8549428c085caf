"""``ModelCheckpoint``: save weights (or a full resumable checkpoint) during training."""

from __future__ import annotations

import math
import os
import warnings

from .base import Callback, resolve_mode

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model after epochs, atomically (a crash never leaves a torn file).

    Args:
        path (str): file name; may contain ``{epoch}`` (1-based) and log keys, e.g.
            ``"ckpt/{epoch:03d}-{val_loss:.3f}.safetensors"``.
        monitor (str): log key compared when ``save_best_only``. Default ``"val_loss"``.
        save_best_only (bool): save only when ``monitor`` improves. Default False.
        mode (str): ``"min"``, ``"max"`` or ``"auto"``. Default auto.
        save_full (bool): write a full checkpoint (optimizer, scheduler, RNG, loader position,
            history, callback states) with ``trainer.save_checkpoint`` so that
            ``fit(..., resume=path)`` continues the run exactly; False saves the model's state
            dict only (``lamina.load`` + ``load_state_dict`` reads it). Default False.
        every (int): save every ``every`` epochs. Default 1.
        verbose (int): print each save. Default 0.

    Attributes:
        best (float), last_path (str or None): best monitored value, last file written.
    """

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", save_full: bool = False, every: int = 1, verbose: int = 0):
        self.path, self.monitor = os.fspath(path), monitor
        self.save_best_only, self.save_full = save_best_only, save_full
        self.every, self.verbose = max(1, int(every)), verbose
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_path = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if (epoch + 1) % self.every:
            return
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs "
                              f"(available: {sorted(logs)}); nothing saved", stacklevel=2)
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                return
            self.best = float(current)
        path = self.path.format(epoch=epoch + 1, **logs)
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        if self.save_full:
            self.trainer.save_checkpoint(path)
        else:
            from ...io import save
            save(self.model.state_dict(), path)
        self.last_path = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")

    def state_dict(self) -> dict:
        return {"best": self.best, "last_path": self.last_path}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.last_path = float(state["best"]), state.get("last_path")

"""``EarlyStopping``: stop when a monitored value has stopped improving."""

from __future__ import annotations

import math
import warnings

from .base import Callback, resolve_mode

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras's rule).

    The first epoch always sets the best value, so a model that never improves afterwards runs
    exactly ``patience + 1`` epochs (for ``patience >= 1``; ``patience=0`` stops at the first
    epoch without improvement, i.e. after 2 epochs).

    Args:
        monitor (str): log key. Default ``"val_loss"``.
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (from the metric's name). Default auto.
        patience (int): epochs without improvement tolerated. Default 0.
        min_delta (float): smallest change that counts as an improvement. Default 0.
        restore_best_weights (bool): when training ends, load the weights of the best epoch.
            Default False.
        start_from_epoch (int): epochs to wait before monitoring (warm-up). Default 0.
        baseline (float, optional): the value to reach; while it is not beaten, the wait
            counter is not reset. Default None.
        verbose (int): print when stopping. Default 0.

    Attributes:
        stopped_epoch (int): the 0-based epoch at which training stopped (0 if it did not).
        best, best_epoch: the best value and its epoch.

    Example:
        >>> trainer.fit(train, epochs=100, validation=val,
        ...             callbacks=[EarlyStopping(patience=5, restore_best_weights=True)])
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 0,
                 min_delta: float = 0.0, restore_best_weights: bool = False,
                 start_from_epoch: int = 0, baseline: float | None = None, verbose: int = 0):
        if patience < 0:
            raise ValueError(f"EarlyStopping: expected patience >= 0, got {patience}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
        self.min_delta = abs(float(min_delta))
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch, self.baseline = int(start_from_epoch), baseline
        self._reset()

    def _reset(self) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def _improved(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})}); pass validation data or "
                          "another monitor", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = float(current), epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.copy() for k, v in self.model.state_dict().items()}
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping (best {self.monitor} = "
                      f"{self.best:.4g} at epoch {self.best_epoch + 1})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        self.best_weights = state.get("best_weights")

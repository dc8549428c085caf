"""``LRSchedulerCallback``: step a ``lamina.optim.lr_scheduler`` schedule from the training loop."""

from __future__ import annotations

from .base import Callback

__all__ = ["LRSchedulerCallback", "is_plateau", "step_scheduler"]


def is_plateau(scheduler) -> bool:
    """True for schedules whose ``step`` takes the monitored value (``ReduceLROnPlateau``)."""
    from ...optim import ReduceLROnPlateau
    return isinstance(scheduler, ReduceLROnPlateau)


def step_scheduler(scheduler, logs: dict, monitor: str | None, op: str) -> None:
    """``scheduler.step()``, or ``scheduler.step(logs[monitor])`` for a plateau schedule (the
    monitor defaults to ``val_loss`` when present, else ``loss``)."""
    if monitor is None and not is_plateau(scheduler):
        scheduler.step()
        return
    key = monitor or ("val_loss" if "val_loss" in logs else "loss")
    if key not in logs:
        raise KeyError(f"{op}: expected {key!r} in the epoch logs to step "
                       f"{type(scheduler).__name__}, got {sorted(logs)}")
    scheduler.step(logs[key])


class LRSchedulerCallback(Callback):
    """Step ``scheduler`` after every epoch (or every batch).

    The trainer's own ``scheduler=`` argument does the same; use this callback for extra
    schedules (e.g. a second optimizer in a GAN) or per-batch stepping.

    Args:
        scheduler: an ``lr_scheduler`` object (``StepLR``, ``OneCycleLR``,
            ``ReduceLROnPlateau``...).
        monitor (str, optional): log key passed to ``step`` (``ReduceLROnPlateau``); default
            ``val_loss`` when validation runs, else ``loss``.
        interval (str): ``"epoch"`` (default) or ``"batch"``.

    Example:
        >>> sched = lamina.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2)
        >>> trainer.fit(train, epochs=30, validation=val,
        ...             callbacks=[LRSchedulerCallback(sched, monitor="val_loss")])
    """

    def __init__(self, scheduler, monitor: str | None = None, interval: str = "epoch"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: expected interval 'epoch' or 'batch', got "
                             f"{interval!r}")
        self.scheduler, self.monitor, self.interval = scheduler, monitor, interval

    def on_train_batch_end(self, batch, logs=None):
        if self.interval == "batch":
            step_scheduler(self.scheduler, logs or {}, self.monitor, "LRSchedulerCallback")

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "epoch":
            step_scheduler(self.scheduler, logs or {}, self.monitor, "LRSchedulerCallback")

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)

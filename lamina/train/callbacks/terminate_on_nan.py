"""``TerminateOnNaN``: stop as soon as the loss is NaN or infinite."""

from __future__ import annotations

import math

from .base import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training after the first batch whose running loss is NaN or infinite.

    Args:
        monitor (str): the log key to check. Default ``"loss"``.

    Attributes:
        terminated_at (tuple or None): ``(epoch, batch)`` where training stopped.
    """

    def __init__(self, monitor: str = "loss"):
        self.monitor = monitor
        self.terminated_at = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        v = (logs or {}).get(self.monitor)
        if v is not None and not math.isfinite(float(v)):
            print(f"Epoch {self._epoch + 1}, batch {batch}: invalid {self.monitor} {v}, "
                  "terminating training")
            self.terminated_at = (self._epoch, batch)
            self.trainer.stop_training = True

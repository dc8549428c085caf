"""``ProgressBar``: a rich live bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
import time

from .base import Callback

__all__ = ["ProgressBar", "format_logs", "compact_logs"]


def format_logs(logs: dict) -> str:
    """``"loss: 0.1234 - accuracy: 0.9700 - lr: 1e-03"`` from a logs dict."""
    parts = []
    for k, v in logs.items():
        if k == "lr":
            parts.append(f"lr: {v:.3g}")
        else:
            parts.append(f"{k}: {v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{k}: {v:.3e}")
    return " - ".join(parts)


_SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}


def compact_logs(logs: dict) -> str:
    """``"loss=0.1234 acc=0.97 lr=0.001"``: the same values in fewer columns (4 significant
    digits, ``accuracy`` shown as ``acc``)."""
    return " ".join(f"{_SHORT.get(k, k)}={v:.4g}" for k, v in logs.items())


class ProgressBar(Callback):
    """Show training progress; ``Trainer.fit(verbose=1)`` adds one by default.

    On a TTY (and ``verbose=1``) a rich live bar shows the batch count, ETA and running loss
    and metrics; otherwise (logs, CI, notebooks captured to files, ``verbose=2``) it prints one
    line per epoch: ``Epoch 3/10 - 0.4s - loss: 0.1234 - accuracy: 0.9700 - val_loss: ...``.

    Args:
        verbose (int): 1 = live bar on a TTY, 2 = one line per epoch always. Default 1.
        stream: file to write to. Default ``sys.stdout`` (looked up when training starts).
        live (bool, optional): force (True) or disable (False) the live bar. Default: TTY test.
    """

    def __init__(self, verbose: int = 1, stream=None, live: bool | None = None):
        self.verbose, self.stream, self.live = verbose, stream, live
        self._progress = self._task = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def on_train_begin(self, logs=None):
        out = self._out()
        live = self.live
        if live is None:
            live = self.verbose == 1 and bool(getattr(out, "isatty", lambda: False)())
        self._live = live
        params = getattr(self.trainer, "params", {}) or {}
        self._epochs, self._steps = params.get("epochs"), params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._epoch = epoch
        if self._live:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self._progress = Progress(
                TextColumn(f"Epoch {epoch + 1}/{self._epochs}"), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), TextColumn("{task.fields[logs]}"),
                console=Console(file=self._out()), transient=True)
            self._progress.start()
            self._task = self._progress.add_task("train", total=self._steps, logs="")

    def on_train_batch_end(self, batch, logs=None):
        if self._progress is not None:
            self._progress.update(self._task, completed=batch + 1,
                                  logs=format_logs(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        secs = time.perf_counter() - self._t0
        head = f"Epoch {epoch + 1}/{self._epochs} - {secs:.1f}s"
        line = head + (" - " + format_logs(logs) if logs else "")
        if len(line) > 80:  # a terminal's width: the compact form instead
            line = head + " - " + compact_logs(logs)
        print(line, file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

"""``CSVLogger``: one CSV row of logs per epoch."""

from __future__ import annotations

import csv
import os

from .base import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Write ``epoch`` and every log value of each epoch as a CSV row (flushed each epoch).

    Args:
        path (str): the CSV file.
        separator (str): column separator. Default ``","``.
        append (bool): append to an existing file (no second header), e.g. when resuming.
            Default False (overwrite).
        first_epoch (int): the number written for the first epoch. Default 0 (Keras'
            ``CSVLogger``); the ``lamina`` command writes 1, as its console counts.

    Example:
        >>> trainer.fit(train, epochs=10, callbacks=[CSVLogger("run/log.csv")])
    """

    def __init__(self, path, separator: str = ",", append: bool = False, first_epoch: int = 0):
        self.path, self.sep, self.append = os.fspath(path), separator, append
        self.first_epoch = int(first_epoch)
        self._file = self._writer = self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._keys = None
        if exists:
            with open(self.path, newline="") as f:
                self._keys = next(csv.reader(f, delimiter=self.sep), None)
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.sep)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = ["epoch"] + list(logs)
            self._writer.writerow(self._keys)
        row = {"epoch": epoch + self.first_epoch, **logs}
        self._writer.writerow([row.get(k, "") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None

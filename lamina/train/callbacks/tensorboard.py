"""``TensorBoard``: scalars and histograms through tensorboardX (an optional dependency)."""

from __future__ import annotations

import os

from ... import backend as B
from .base import Callback

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Log every epoch's loss, metrics and lr, plus weight and gradient histograms.

    Needs ``tensorboardX`` (``pip install tensorboardX``); view with
    ``tensorboard --logdir runs``.

    Args:
        log_dir (str): event-file directory. Default ``"runs"``.
        histogram_freq (int): histograms every ``histogram_freq`` epochs; 0 disables them.
            Default 1.

    Raises:
        ImportError: tensorboardX is not installed (the message names the pip command).
    """

    def __init__(self, log_dir="runs", histogram_freq: int = 1):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("TensorBoard callback: expected the optional dependency "
                              "tensorboardX, got none installed; run `pip install tensorboardX`"
                              " (or `pip install lamina[tensorboard]`)") from e
        self._writer_cls = SummaryWriter
        self.log_dir, self.histogram_freq = os.fspath(log_dir), int(histogram_freq)
        self.writer = None
        self._grads: dict = {}

    def on_train_begin(self, logs=None):
        if self.writer is None:
            self.writer = self._writer_cls(self.log_dir)

    def _hist_epoch(self, epoch) -> bool:
        return self.histogram_freq > 0 and epoch % self.histogram_freq == 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._grads = {}

    def on_train_batch_end(self, batch, logs=None):
        if self._hist_epoch(self._epoch):
            # backward assigns fresh arrays, so keeping references (no copy) is safe
            self._grads = {n: p._grad.array for n, p in self.model.named_parameters()
                           if p._grad is not None}

    def on_epoch_end(self, epoch, logs=None):
        w = self.writer
        for k, v in (logs or {}).items():
            w.add_scalar(k, float(v), epoch + 1)
        if self._hist_epoch(epoch):
            for n, p in self.model.named_parameters():
                w.add_histogram(f"weights/{n}", B.to_host(p.array), epoch + 1)
            for n, g in self._grads.items():
                w.add_histogram(f"gradients/{n}", B.to_host(g), epoch + 1)
        w.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

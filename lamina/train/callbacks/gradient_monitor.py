"""``GradientMonitor``: per-layer gradient norms each epoch, with vanishing/exploding warnings
(seed Q11-Q12)."""

from __future__ import annotations

import math
import warnings

from ... import backend as B
from .base import Callback

__all__ = ["GradientMonitor", "GradientWarning"]


class GradientWarning(UserWarning):
    """Gradients of a layer vanished or exploded."""


class GradientMonitor(Callback):
    """Record the L2 norm of each layer's weight gradient, averaged over an epoch's batches.

    A layer is any module with a ``weight`` parameter of at least 2 dimensions (Linear, conv,
    embedding...; normalization layers' 1-D scales are left out unless ``include_1d``); it is
    named by its qualified module name (``"0"``, ``"encoder.fc1"``...), as in
    ``model.named_modules()``.

    Args:
        every (int): record every ``every`` epochs. Default 1.
        vanish_threshold (float): warn when a layer's norm is below this. Default 1e-6.
        explode_threshold (float): warn when a layer's norm is above this. Default 1e3.
        vanish_ratio (float, optional): also warn when a layer's norm is below
            ``vanish_ratio`` times the largest layer norm of the epoch (e.g. 1e-2). Default
            None.
        warn (bool): emit :class:`GradientWarning` (once per layer and kind). Default True.
        include_1d (bool): also monitor 1-D weights (batch/layer norm scales). Default False.

    Attributes:
        norms (dict[str, list[float]]): layer name -> one mean norm per recorded epoch.
        epochs (list[int]): the recorded epochs.
        layers (list[str]): layer names, input to output.

    Example:
        >>> mon = GradientMonitor(vanish_ratio=1e-2)
        >>> trainer.fit(train, epochs=3, callbacks=[mon])
        >>> mon.norms["0"][-1] / mon.norms["38"][-1]      # first vs last layer
    """

    def __init__(self, every: int = 1, vanish_threshold: float = 1e-6,
                 explode_threshold: float = 1e3, vanish_ratio: float | None = None,
                 warn: bool = True, include_1d: bool = False):
        self.every = max(1, int(every))
        self.vanish_threshold, self.explode_threshold = vanish_threshold, explode_threshold
        self.vanish_ratio, self.warn, self.include_1d = vanish_ratio, warn, include_1d
        self.norms: dict[str, list] = {}
        self.epochs: list[int] = []
        self.layers: list[str] = []
        self._warned: set = set()

    def set_trainer(self, trainer) -> None:
        super().set_trainer(trainer)
        self._params = []
        for name, m in trainer.model.named_modules():
            w = dict(m.named_parameters(recurse=False)).get("weight")
            if w is not None and w.requires_grad and (w.ndim >= 2 or self.include_1d):
                self._params.append((name or type(m).__name__, w))
        self.layers = [n for n, _ in self._params]

    def on_epoch_begin(self, epoch, logs=None):
        self._active = epoch % self.every == 0
        self._sums = dict.fromkeys(self.layers, 0.0)
        self._count = 0

    def on_train_batch_end(self, batch, logs=None):
        if not self._active:
            return
        for name, p in self._params:
            if p._grad is not None:
                g = p._grad.array
                xp = B.get_array_module(g)
                self._sums[name] += float(xp.sqrt(xp.sum(g * g)))
        self._count += 1

    def on_epoch_end(self, epoch, logs=None):
        if not self._active or not self._count:
            return
        means = {n: s / self._count for n, s in self._sums.items()}
        for n, v in means.items():
            self.norms.setdefault(n, []).append(v)
        self.epochs.append(epoch)
        if self.warn:
            self._check(epoch, means)

    def ratio(self, first: str | None = None, last: str | None = None,
              epoch: int | None = None) -> float:
        """Norm of layer ``first`` over that of layer ``last`` (default: the first and last
        layers) at recorded ``epoch`` (default: the latest)."""
        first, last = first or self.layers[0], last or self.layers[-1]
        i = -1 if epoch is None else self.epochs.index(epoch)
        return self.norms[first][i] / self.norms[last][i]

    def _check(self, epoch, means):
        top = max(means.values(), default=0.0)
        for n, v in means.items():
            small = v < self.vanish_threshold or (self.vanish_ratio is not None
                                                  and v < self.vanish_ratio * top)
            big = not math.isfinite(v) or v > self.explode_threshold
            if big and (n, "x") not in self._warned:
                self._warned.add((n, "x"))
                warnings.warn(f"GradientMonitor: exploding gradients in layer {n!r} at epoch "
                              f"{epoch + 1}: ||grad|| = {v:.3e} > {self.explode_threshold:g}; "
                              "lower the learning rate or clip gradients (grad_clip=)",
                              GradientWarning, stacklevel=2)
            elif small and (n, "v") not in self._warned:
                self._warned.add((n, "v"))
                warnings.warn(f"GradientMonitor: vanishing gradients in layer {n!r} at epoch "
                              f"{epoch + 1}: ||grad|| = {v:.3e} (largest layer {top:.3e}); "
                              "try ReLU with He init, batch norm or residual connections",
                              GradientWarning, stacklevel=2)

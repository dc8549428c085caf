"""Composite and metric-driven schedules: SequentialLR, ChainedScheduler, ReduceLROnPlateau.

Re-exported by :mod:`lamina.optim.lr_scheduler`; values match PyTorch step by step.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from ._lr_base import LRScheduler, group_values
from .optimizer import Optimizer, check_hparam

__all__ = ["SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]


def _check_children(name: str, optimizer, schedulers) -> None:
    check_hparam(len(schedulers) >= 1, name, "at least one scheduler", 0)
    for i, s in enumerate(schedulers):
        check_hparam(not isinstance(s, ReduceLROnPlateau), name,
                     "schedulers other than ReduceLROnPlateau (it needs a metric)",
                     f"one at index {i}")
        check_hparam(getattr(s, "optimizer", None) is optimizer, name,
                     "all schedulers on the same optimizer",
                     f"{type(s).__name__} at index {i} on another one")


class _Composite(LRScheduler):
    _skip_keys = ("optimizer", "_schedulers")

    def state_dict(self) -> dict:
        """Own attributes plus each child's ``state_dict`` under ``"_schedulers"``."""
        sd = super().state_dict()
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for s, sd in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(sd)


class SequentialLR(_Composite):
    """Run schedulers one after another, switching at the milestone epochs (e.g. a linear
    warm-up, then cosine annealing). Each scheduler restarts from its own epoch 0.

    Args:
        optimizer (Optimizer): the optimizer all ``schedulers`` share.
        schedulers (list[LRScheduler]): in order; already constructed on ``optimizer``.
        milestones (list[int]): ``len(schedulers) - 1`` epochs at which to switch.
        last_epoch (int): Default -1.

    Example:
        >>> warm = LinearLR(opt, start_factor=0.1, total_iters=5)
        >>> cos = CosineAnnealingLR(opt, T_max=45)
        >>> sched = SequentialLR(opt, [warm, cos], milestones=[5])
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        _check_children("SequentialLR", optimizer, schedulers)
        check_hparam(len(milestones) == len(schedulers) - 1, "SequentialLR",
                     f"{len(schedulers) - 1} milestones (one fewer than schedulers)",
                     len(milestones))
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # undo the steps the children took at construction, then start the first one again
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo(self, sched) -> None:
        if hasattr(sched, "_schedulers"):  # nested composites: undo their leaves (as PyTorch)
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        """Advance one epoch with the scheduler in charge of it."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers together every epoch (their factors multiply).

    Args:
        schedulers (list[LRScheduler]): constructed on the same optimizer.
        optimizer (Optimizer, optional): defaults to the first scheduler's.

    Example:
        >>> sched = ChainedScheduler([ConstantLR(opt, 0.1, 2), ExponentialLR(opt, 0.9)])
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        check_hparam(len(schedulers) >= 1, "ChainedScheduler", "at least one scheduler", 0)
        optimizer = optimizer or schedulers[0].optimizer
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = group_values(optimizer, "lr")

    def step(self) -> None:
        """Step every chained scheduler once."""
        for s in self._schedulers:
            s.step()
        self._last_lr = group_values(self.optimizer, "lr")


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience``
    epochs; call ``step(metric)`` once per epoch.

    Args:
        optimizer (Optimizer): the optimizer.
        mode (str): ``"min"`` (loss) or ``"max"`` (accuracy). Default ``"min"``.
        factor (float): reduction factor, < 1. Default 0.1.
        patience (int): bad epochs tolerated before reducing. Default 10.
        threshold (float): minimal significant improvement. Default 1e-4.
        threshold_mode (str): ``"rel"`` (``best * (1 -/+ threshold)``) or ``"abs"``
            (``best -/+ threshold``). Default ``"rel"``.
        cooldown (int): epochs to wait after a reduction before counting again. Default 0.
        min_lr (float or list): lower bound(s) of the lr. Default 0.
        eps (float): reductions smaller than this are skipped. Default 1e-8.

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
        >>> sched.step(val_loss)
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        check_hparam(factor < 1.0, name, "factor < 1", factor)
        check_hparam(isinstance(optimizer, Optimizer), name, "an Optimizer",
                     type(optimizer).__name__)
        check_hparam(mode in ("min", "max"), name, "mode 'min' or 'max'", mode)
        check_hparam(threshold_mode in ("rel", "abs"), name, "threshold_mode 'rel' or 'abs'",
                     threshold_mode)
        self.optimizer = optimizer
        self.factor = factor
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            check_hparam(len(min_lr) == n, name, f"{n} min_lrs", len(min_lr))
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = group_values(optimizer, "lr")
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves significantly on ``best``."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics, epoch=None) -> None:  # type: ignore[override]
        """Record this epoch's metric (a float or 0-d array) and reduce the lr if needed."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = group_values(self.optimizer, "lr")

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            check_hparam(self.default_min_lr is not None, "ReduceLROnPlateau",
                         f"{len(groups)} min_lrs (a param group was added)", len(self.min_lrs))
            self.min_lrs = [self.default_min_lr] * len(groups)
        for i, group in enumerate(groups):
            old = float(group["lr"])
            new = max(old * self.factor, self.min_lrs[i])
            if old - new > self.eps:
                group["lr"] = new

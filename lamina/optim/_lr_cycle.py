"""Cyclic schedules: cosine annealing with warm restarts (SGDR) and the one-cycle policy.

Re-exported by :mod:`lamina.optim.lr_scheduler`; values match PyTorch step by step.
"""

from __future__ import annotations

import math

from ._lr_base import (LRScheduler, format_param, group_values, init_cycle_momentum,
                       set_momentum)
from .optimizer import Optimizer, check_hparam

__all__ = ["CosineAnnealingWarmRestarts", "OneCycleLR"]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): cosine annealing restarted every ``T_i`` epochs, with
    ``T_0`` the first period and ``T_{i+1} = T_i * T_mult``.

    Args:
        optimizer (Optimizer): the optimizer.
        T_0 (int): length of the first period (positive).
        T_mult (int): period growth factor (>= 1). Default 1.
        eta_min (float): minimum lr. Default 0.
        last_epoch (int): Default -1.

    ``step(epoch)`` also accepts a fractional epoch (e.g. ``epoch + i / iters``) for
    per-batch annealing.

    Example:
        >>> sched = CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        name = "CosineAnnealingWarmRestarts"
        check_hparam(isinstance(T_0, int) and T_0 > 0, name, "a positive integer T_0", T_0)
        check_hparam(isinstance(T_mult, int) and T_mult >= 1, name, "an integer T_mult >= 1",
                     T_mult)
        self.T_0 = self.T_i = T_0
        self.T_mult, self.eta_min = T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        lo = self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch=None) -> None:
        """Advance one epoch, or jump to (possibly fractional) ``epoch``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_hparam(epoch >= 0, "CosineAnnealingWarmRestarts", "epoch >= 0", epoch)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = float(lr)
        self._last_lr = group_values(self.optimizer, "lr")


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): the lr rises from ``max_lr / div_factor`` to
    ``max_lr`` over ``pct_start`` of the steps, then anneals to ``initial_lr /
    final_div_factor``; momentum (SGD's ``momentum`` or Adam's ``betas[0]``) cycles the other
    way between ``max_momentum`` and ``base_momentum``. Step it once per batch.

    Args:
        optimizer (Optimizer): the optimizer.
        max_lr (float or list): peak lr (one per group allowed).
        total_steps (int, optional): number of steps; or give ``epochs`` and
            ``steps_per_epoch``.
        epochs (int, optional), steps_per_epoch (int, optional): see ``total_steps``.
        pct_start (float): fraction of steps spent rising. Default 0.3.
        anneal_strategy (str): ``"cos"`` or ``"linear"``. Default ``"cos"``.
        cycle_momentum (bool): cycle momentum / beta1 too. Default True.
        base_momentum (float or list): lowest momentum (at the lr peak). Default 0.85.
        max_momentum (float or list): highest momentum. Default 0.95.
        div_factor (float): ``initial_lr = max_lr / div_factor``. Default 25.
        final_div_factor (float): ``min_lr = initial_lr / final_div_factor``. Default 1e4.
        three_phase (bool): rise, fall symmetrically, then annihilate. Default False.
        last_epoch (int): Default -1.

    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, total_steps=len(loader) * epochs)
    """

    def __init__(self, optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        name = "OneCycleLR"
        check_hparam(isinstance(optimizer, Optimizer), name, "an Optimizer",
                     type(optimizer).__name__)
        self.optimizer = optimizer
        if total_steps is not None:
            check_hparam(isinstance(total_steps, int) and total_steps > 0, name,
                         "a positive integer total_steps", total_steps)
            self.total_steps = total_steps
        else:
            check_hparam(epochs is not None and steps_per_epoch is not None, name,
                         "total_steps or (epochs and steps_per_epoch)", "neither")
            check_hparam(isinstance(epochs, int) and epochs > 0, name,
                         "a positive integer epochs", epochs)
            check_hparam(isinstance(steps_per_epoch, int) and steps_per_epoch > 0, name,
                         "a positive integer steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        check_hparam(0 <= pct_start <= 1, name, "0 <= pct_start <= 1", pct_start)
        check_hparam(anneal_strategy in ("cos", "linear"), name,
                     "anneal_strategy 'cos' or 'linear'", anneal_strategy)
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                [float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"],
                [float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"],
                [n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"]]
        else:
            self._schedule_phases = [
                [float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"],
                [n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"]]
        max_lrs = format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            init_cycle_momentum(self, name, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, m: float) -> None:
        set_momentum(group, m, self.use_beta1)

    def get_lr(self) -> list:
        t = self.last_epoch
        check_hparam(t <= self.total_steps, "OneCycleLR",
                     f"at most total_steps={self.total_steps} steps", t)
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._schedule_phases):
                if t <= end or i == len(self._schedule_phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs

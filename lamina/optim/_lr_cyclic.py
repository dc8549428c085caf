"""``CyclicLR`` (Smith 2017): the lr bounces between ``base_lr`` and ``max_lr``.

Re-exported by :mod:`lamina.optim.lr_scheduler`; values match ``torch.optim.lr_scheduler.
CyclicLR`` step by step (tests/optim/test_cyclic_lr.py).
"""

from __future__ import annotations

import math

from ._lr_base import LRScheduler, format_param, init_cycle_momentum, set_momentum
from .optimizer import Optimizer, check_hparam

__all__ = ["CyclicLR"]


class CyclicLR(LRScheduler):
    """Cyclical learning rate; step it once per batch.

    Args:
        optimizer (Optimizer): the optimizer.
        base_lr (float or list): lower bound (the lr set at construction).
        max_lr (float or list): upper bound.
        step_size_up (int): steps rising in a half cycle. Default 2000.
        step_size_down (int, optional): steps falling. Default None (= ``step_size_up``).
        mode (str): ``"triangular"``, ``"triangular2"`` (amplitude halves every cycle) or
            ``"exp_range"`` (amplitude times ``gamma ** step``). Default ``"triangular"``.
        gamma (float): for ``exp_range``. Default 1.0.
        scale_fn (callable, optional): custom amplitude scale (replaces ``mode``).
        scale_mode (str): ``"cycle"`` or ``"iterations"``: what ``scale_fn`` receives.
            Default ``"cycle"``.
        cycle_momentum (bool): cycle momentum (or Adam's beta1) inversely. Default True.
        base_momentum (float or list): Default 0.8. max_momentum (float or list): Default 0.9.
        last_epoch (int): Default -1.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9,
                 last_epoch: int = -1):
        name = "CyclicLR"
        check_hparam(isinstance(optimizer, Optimizer), name, "an Optimizer",
                     type(optimizer).__name__)
        check_hparam(mode in ("triangular", "triangular2", "exp_range") or scale_fn is not None,
                     name, "mode 'triangular', 'triangular2' or 'exp_range'", mode)
        check_hparam(step_size_up > 0, name, "step_size_up > 0", step_size_up)
        self.optimizer = optimizer
        base_lrs = format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, gamma
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        else:
            self.scale_mode = scale_mode
        self._custom = scale_fn
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = init_cycle_momentum(
                self, name, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or step) ``x``."""
        if self._custom is not None:
            return self._custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale = x / self.step_ratio
        else:
            scale = (x - 1) / (self.step_ratio - 1)
        arg = cycle if self.scale_mode == "cycle" else self.last_epoch
        lrs = [b + (m - b) * scale * self.scale_fn(arg)
               for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for bm, mm, group in zip(self.base_momentums, self.max_momentums,
                                     self.optimizer.param_groups):
                set_momentum(group, mm - (mm - bm) * scale * self.scale_fn(arg), self.use_beta1)
        return lrs

"""``LRScheduler``: the base of every learning-rate schedule (PyTorch's protocol).

A scheduler owns ``last_epoch`` (the number of ``step()`` calls so far, starting at 0 after
construction) and writes each group's ``"lr"``. Like PyTorch, schedules are *chainable*: most
compute the next lr from the group's current one, so two schedulers on one optimizer compose
multiplicatively, and the values match ``torch.optim.lr_scheduler`` step by step.
"""

from __future__ import annotations

from ..errors import check
from .optimizer import Optimizer, check_hparam

__all__ = ["LRScheduler", "group_values", "format_param"]


def group_values(optimizer: Optimizer, key: str) -> list:
    """``[group[key] for group in optimizer.param_groups]``."""
    return [g[key] for g in optimizer.param_groups]


def format_param(name: str, optimizer: Optimizer, value) -> list:
    """One value per param group: a scalar is repeated, a list/tuple must match in length."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        check(len(value) == n, name, f"{n} values (one per param group)", str(len(value)),
              cls=ValueError)
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` (the lrs for the current ``last_epoch``).

    Args:
        optimizer (Optimizer): whose groups' ``"lr"`` this scheduler sets.
        last_epoch (int): index of the last step when resuming; -1 starts fresh (each group's
            ``"initial_lr"`` is then set to its current ``"lr"``). Default -1.

    Attributes:
        base_lrs (list[float]): each group's ``initial_lr``.
        last_epoch (int): number of ``step()`` calls since the start (0 after construction).

    Call ``scheduler.step()`` once per epoch (or per batch for per-iteration schedules) after
    ``optimizer.step()``.
    """

    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        check(isinstance(optimizer, Optimizer), type(self).__name__, "an Optimizer",
              type(optimizer).__name__, cls=TypeError)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                check("initial_lr" in group, type(self).__name__,
                      f"'initial_lr' in param_groups[{i}] when resuming with last_epoch >= 0",
                      "none", "load the optimizer's state_dict first", cls=KeyError)
        self.base_lrs = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        """The learning rates of the current ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The learning rates the last ``step()`` set, one per param group."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch`` using the closed form, where there is one)
        and write the new learning rates into the optimizer's groups."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = float(lr)  # a Python float even if a lambda gave NumPy
        self._last_lr = group_values(self.optimizer, "lr")

    # ------------------------------------------------------------------ checkpoints
    _skip_keys = ("optimizer",)

    def state_dict(self) -> dict:
        """The scheduler's attributes except the optimizer (Python scalars and lists)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if k not in self._skip_keys}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._skip_keys})

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)}, "
                f"lr={self.get_last_lr()})")


def init_cycle_momentum(sched, name, optimizer, base_momentum, max_momentum, last_epoch):
    """Momentum cycling shared by ``OneCycleLR`` and ``CyclicLR`` (PyTorch's rules): checks
    that the optimizer has ``momentum`` or ``betas``, sets ``sched.use_beta1`` and, on a fresh
    start, puts every group at its ``max_momentum``. Returns ``(base, max)`` per group."""
    d = optimizer.defaults
    check_hparam("momentum" in d or "betas" in d, name,
                 "an optimizer with momentum or betas for cycle_momentum=True",
                 type(optimizer).__name__)
    sched.use_beta1 = "betas" in d
    basem = format_param("base_momentum", optimizer, base_momentum)
    maxm = format_param("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for mm, bm, group in zip(maxm, basem, optimizer.param_groups):
            set_momentum(group, mm, sched.use_beta1)
            group["max_momentum"], group["base_momentum"] = mm, bm
    return basem, maxm


def set_momentum(group: dict, m: float, use_beta1: bool) -> None:
    """SGD's ``momentum`` or Adam's ``betas[0]`` of one param group."""
    if use_beta1:
        group["betas"] = (m, *group["betas"][1:])
    else:
        group["momentum"] = m

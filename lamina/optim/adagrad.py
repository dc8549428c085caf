"""Adagrad: per-coordinate learning rates from the sum of squared gradients (seed Q10)."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, check_hparam, update_direction

__all__ = ["Adagrad", "adagrad_step"]


def adagrad_step(param, grad, state_sum, step: int, *, lr: float, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, eps: float = 1e-10, maximize: bool = False) -> None:
    """One Adagrad update in place (PyTorch's rule, any array module).

    ``clr = lr / (1 + (t - 1) lr_decay)``; ``s += g^2``; ``param -= clr g / (sqrt(s) + eps)``.

    Args:
        param: array updated in place. grad: its gradient (not modified).
        state_sum: the sum of squared gradients, updated in place.
        step (int): the step number, counting this one (1 on the first update).
        lr, lr_decay, weight_decay, eps, maximize: see :class:`Adagrad`.

    Shape:
        All arrays share ``param``'s shape.
    """
    xp = B.get_array_module(param)
    g = update_direction(param, grad, weight_decay=weight_decay, maximize=maximize)
    clr = lr / (1.0 + (step - 1) * lr_decay)
    state_sum += g * g
    std = xp.sqrt(state_sum)
    std += eps
    param -= clr * (g / std)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): PyTorch's rule and defaults.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 1e-2.
        lr_decay (float): ``lr / (1 + (t-1) lr_decay)`` at step t. Default 0.
        weight_decay (float): L2 penalty added to the gradient. Default 0.
        initial_accumulator_value (float): starting value of the squared-gradient sum.
            Default 0.
        eps (float): added to the denominator. Default 1e-10.
        maximize (bool): ascend the objective instead. Default False.

    State per parameter:
        ``step`` (int) and ``sum`` (array like the parameter).

    Example:
        >>> opt = Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_hparam(g[key] >= 0, "Adagrad", f"{key} >= 0", g[key])

    def _init_state(self, p, group: dict) -> dict:
        xp = B.get_array_module(p.array)
        return {"step": 0,
                "sum": xp.full_like(p.array, group["initial_accumulator_value"])}

    def add_param_group(self, param_group: dict) -> None:
        # PyTorch creates Adagrad's accumulators eagerly, for every parameter of every group
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._init_state(p, group)

    def _update(self, p, grad, state: dict, g: dict) -> None:
        state["step"] += 1
        adagrad_step(p.array, grad, state["sum"], state["step"], lr=g["lr"],
                     lr_decay=g["lr_decay"], weight_decay=g["weight_decay"], eps=g["eps"],
                     maximize=g["maximize"])

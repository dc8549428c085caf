"""Adadelta (Zeiler 2012): step sizes from running averages of gradients and updates."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, check_hparam, ema_, update_direction

__all__ = ["Adadelta", "adadelta_step"]


def adadelta_step(param, grad, square_avg, acc_delta, *, lr: float, rho: float, eps: float,
                  weight_decay: float = 0.0, maximize: bool = False) -> None:
    """One Adadelta update in place (PyTorch's rule, any array module).

    ``v = rho v + (1-rho) g^2``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1-rho) d^2``; ``param -= lr d``.

    Args:
        param: array updated in place. grad: its gradient (not modified).
        square_avg (``v``), acc_delta (``u``): running averages, updated in place.
        lr, rho, eps, weight_decay, maximize: see :class:`Adadelta`.

    Shape:
        All arrays share ``param``'s shape.
    """
    xp = B.get_array_module(param)
    g = update_direction(param, grad, weight_decay=weight_decay, maximize=maximize)
    ema_(square_avg, g * g, rho)
    std = xp.sqrt(square_avg + eps)
    delta = xp.sqrt(acc_delta + eps)
    delta /= std
    delta *= g
    ema_(acc_delta, delta * delta, rho)
    param -= lr * delta


class Adadelta(Optimizer):
    """Adadelta: PyTorch's rule and defaults.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): scales the computed delta. Default 1.0.
        rho (float): decay rate of the running averages, in [0, 1]. Default 0.9.
        eps (float): added inside the square roots. Default 1e-6.
        weight_decay (float): L2 penalty added to the gradient. Default 0.
        maximize (bool): ascend the objective instead. Default False.

    State per parameter:
        ``step`` (int), ``square_avg`` and ``acc_delta`` (arrays like the parameter).

    Example:
        >>> opt = Adadelta(model.parameters())
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        check_hparam(g["lr"] >= 0, "Adadelta", "lr >= 0", g["lr"])
        check_hparam(0 <= g["rho"] <= 1, "Adadelta", "0 <= rho <= 1", g["rho"])
        check_hparam(g["eps"] >= 0, "Adadelta", "eps >= 0", g["eps"])
        check_hparam(g["weight_decay"] >= 0, "Adadelta", "weight_decay >= 0", g["weight_decay"])

    def _init_state(self, p, group: dict) -> dict:
        xp = B.get_array_module(p.array)
        return {"step": 0, "square_avg": xp.zeros_like(p.array),
                "acc_delta": xp.zeros_like(p.array)}

    def _update(self, p, grad, state: dict, g: dict) -> None:
        state["step"] += 1
        adadelta_step(p.array, grad, state["square_avg"], state["acc_delta"], lr=g["lr"],
                      rho=g["rho"], eps=g["eps"], weight_decay=g["weight_decay"],
                      maximize=g["maximize"])

"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum (seed Q10)."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, check_hparam, ema_, update_direction

__all__ = ["RMSprop", "rmsprop_step"]


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, *, lr: float,
                 alpha: float, eps: float, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, maximize: bool = False) -> None:
    """One RMSprop update in place (PyTorch's rule, any array module).

    ``v = alpha v + (1-alpha) g^2``; ``avg = sqrt(v - gbar^2) + eps`` when centered (``gbar``
    the running mean of ``g``), else ``sqrt(v) + eps``; with momentum ``buf = momentum buf +
    g / avg`` and ``param -= lr buf``, else ``param -= lr g / avg``.

    Args:
        param: array updated in place. grad: its gradient (not modified).
        square_avg: running mean of ``g^2``, updated in place.
        grad_avg: running mean of ``g`` (centered only, else None), updated in place.
        momentum_buffer: updated in place (momentum > 0 only, else None).
        lr, alpha, eps, weight_decay, momentum, centered, maximize: see :class:`RMSprop`.

    Shape:
        All arrays share ``param``'s shape.
    """
    xp = B.get_array_module(param)
    g = update_direction(param, grad, weight_decay=weight_decay, maximize=maximize)
    ema_(square_avg, g * g, alpha)
    if centered:
        grad_avg += (g - grad_avg) * (1.0 - alpha)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * (g / avg)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square (PyTorch's rule, defaults).

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 1e-2.
        alpha (float): smoothing constant of the squared-gradient average. Default 0.99.
        eps (float): added to the denominator. Default 1e-8.
        weight_decay (float): L2 penalty added to the gradient. Default 0.
        momentum (float): momentum factor. Default 0.
        centered (bool): normalise by the estimated variance instead. Default False.
        maximize (bool): ascend the objective instead. Default False.

    State per parameter:
        ``step`` (int), ``square_avg``, and ``momentum_buffer`` (momentum > 0), ``grad_avg``
        (centered), arrays like the parameter.

    Example:
        >>> opt = RMSprop(model.parameters(), lr=1e-3, momentum=0.9, centered=True)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_hparam(g[key] >= 0, "RMSprop", f"{key} >= 0", g[key])

    def _init_state(self, p, group: dict) -> dict:
        xp = B.get_array_module(p.array)
        st = {"step": 0, "square_avg": xp.zeros_like(p.array)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = xp.zeros_like(p.array)
        if group["centered"]:
            st["grad_avg"] = xp.zeros_like(p.array)
        return st

    def _update(self, p, grad, state: dict, g: dict) -> None:
        state["step"] += 1
        xp = B.get_array_module(p.array)
        # a scheduler (OneCycleLR) may turn momentum / centering on after the first step
        if g["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p.array)
        if g["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p.array)
        rmsprop_step(p.array, grad, state["square_avg"], state.get("grad_avg"),
                     state.get("momentum_buffer"), lr=g["lr"], alpha=g["alpha"], eps=g["eps"],
                     weight_decay=g["weight_decay"], momentum=g["momentum"],
                     centered=g["centered"], maximize=g["maximize"])

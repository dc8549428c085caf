"""Stochastic gradient descent with momentum, dampening and Nesterov (seed Q10, Q18)."""

from __future__ import annotations

from ..backend import fast
from .optimizer import Optimizer, check_hparam, update_direction

__all__ = ["SGD", "sgd_step"]


def sgd_step(param, grad, buf, *, lr: float, momentum: float = 0.0, dampening: float = 0.0,
             nesterov: bool = False, weight_decay: float = 0.0, maximize: bool = False):
    """One SGD update of ``param`` in place (PyTorch's rule, any array module).

    ``g = grad (+ weight_decay * param)``; with momentum ``buf = momentum * buf +
    (1 - dampening) * g`` (``buf = g`` on the first step), then ``g = g + momentum * buf``
    (Nesterov) or ``g = buf``; finally ``param -= lr * g``.

    Args:
        param: array updated in place. grad: its gradient (not modified).
        buf: the momentum buffer (updated in place) or None before the first step.
        lr, momentum, dampening, nesterov, weight_decay, maximize: see :class:`SGD`.

    Returns:
        The momentum buffer (new on the first step), or None when ``momentum == 0``.

    Shape:
        ``param``, ``grad`` and ``buf`` share one shape.
    """
    if (buf is not None and momentum != 0 and not dampening and not nesterov
            and not weight_decay and not maximize and fast.enabled()
            and fast.sgd_momentum(param, grad, buf, momentum=momentum, lr=lr)):
        return buf      # one fused pass, the same bits as the NumPy lines below
    g = update_direction(param, grad, weight_decay=weight_decay, maximize=maximize)
    if momentum != 0:
        if buf is None:
            buf = g.copy()
        else:
            buf *= momentum
            buf += g if dampening == 0 else (1.0 - dampening) * g  # no extra pass by default
        g = g + momentum * buf if nesterov else buf
    param -= lr * g
    return buf


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum: PyTorch's rule.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 1e-3.
        momentum (float): momentum factor. Default 0.
        dampening (float): dampening of the momentum's new gradient. Default 0.
        weight_decay (float): L2 penalty added to the gradient. Default 0.
        nesterov (bool): Nesterov momentum (needs momentum > 0, dampening 0). Default False.
        maximize (bool): ascend the objective instead. Default False.

    State per parameter:
        ``momentum_buffer`` (array, like the parameter) when momentum != 0.

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        check_hparam(g["lr"] >= 0, "SGD", "lr >= 0", g["lr"])
        check_hparam(g["momentum"] >= 0, "SGD", "momentum >= 0", g["momentum"])
        check_hparam(g["weight_decay"] >= 0, "SGD", "weight_decay >= 0", g["weight_decay"])
        check_hparam(not g["nesterov"] or (g["momentum"] > 0 and g["dampening"] == 0), "SGD",
                     "momentum > 0 and dampening == 0 for nesterov=True",
                     f"momentum={g['momentum']}, dampening={g['dampening']}")

    def _update(self, p, grad, state: dict, g: dict) -> None:
        buf = sgd_step(p.array, grad, state.get("momentum_buffer"), lr=g["lr"],
                       momentum=g["momentum"], dampening=g["dampening"],
                       nesterov=g["nesterov"], weight_decay=g["weight_decay"],
                       maximize=g["maximize"])
        if buf is not None:
            state["momentum_buffer"] = buf

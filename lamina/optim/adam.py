"""Adam and AdamW (decoupled weight decay), with the AMSGrad variant (seed Q10)."""

from __future__ import annotations

import math

from .. import backend as B
from ..backend import fast
from .optimizer import Optimizer, check_hparam, ema_, update_direction

__all__ = ["Adam", "AdamW", "adam_step"]


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step: int, *, lr: float,
              beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
              amsgrad: bool = False, maximize: bool = False, decoupled: bool = False) -> None:
    """One Adam / AdamW update in place (PyTorch's rule, any array module).

    ``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g^2`` (AMSGrad: ``vmax = max(vmax, v)`` is
    used instead of ``v``); ``param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    Weight decay is added to ``g`` (Adam) or applied as ``param *= 1 - lr * wd`` first
    (``decoupled=True``, AdamW).

    Args:
        param: array updated in place. grad: its gradient (not modified).
        exp_avg, exp_avg_sq: first / second moment arrays, updated in place.
        max_exp_avg_sq: running max of ``exp_avg_sq`` (AMSGrad), updated in place, or None.
        step (int): the step number, counting this one (1 on the first update).
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize: see :class:`Adam`.
        decoupled (bool): AdamW's decoupled weight decay. Default False.

    Shape:
        All arrays share ``param``'s shape.
    """
    step_size = lr / (1.0 - beta1 ** step)
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    if ((not weight_decay or decoupled) and not amsgrad and not maximize and fast.enabled()
            and fast.adam_update(param, grad, exp_avg, exp_avg_sq, beta1=beta1, beta2=beta2,
                                 step_size=step_size, bc2=bias_correction2_sqrt, eps=eps,
                                 decay=1.0 - lr * weight_decay if weight_decay else None)):
        return          # one fused pass, the same bits as the NumPy lines below
    g = update_direction(param, grad, lr=lr, weight_decay=weight_decay, maximize=maximize,
                         decoupled=decoupled)
    exp_avg += (g - exp_avg) * (1.0 - beta1)
    ema_(exp_avg_sq, g * g, beta2)
    xp = B.get_array_module(param)
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    else:
        v = exp_avg_sq
    denom = xp.sqrt(v)
    denom /= bias_correction2_sqrt
    denom += eps
    param -= step_size * (exp_avg / denom)


class Adam(Optimizer):
    """Adam (Kingma & Ba): PyTorch's rule and defaults.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 1e-3.
        betas (tuple[float, float]): decay rates of the moment averages. Default (0.9, 0.999).
        eps (float): added to the denominator. Default 1e-8.
        weight_decay (float): L2 penalty added to the gradient. Default 0.
        amsgrad (bool): use the running max of the second moment. Default False.
        maximize (bool): ascend the objective instead. Default False.
        decoupled_weight_decay (bool): decay the weights directly (AdamW). Default False.

    State per parameter:
        ``step`` (int), ``exp_avg``, ``exp_avg_sq`` and, with AMSGrad, ``max_exp_avg_sq``
        (arrays like the parameter).

    Example:
        >>> opt = Adam(model.parameters(), lr=3e-4)
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        name = type(self).__name__
        b = g["betas"]
        check_hparam(len(b) == 2, name, "betas of length 2", tuple(b))
        check_hparam(g["lr"] >= 0, name, "lr >= 0", g["lr"])
        check_hparam(g["eps"] >= 0, name, "eps >= 0", g["eps"])
        check_hparam(0 <= b[0] < 1, name, "0 <= betas[0] < 1", b[0])
        check_hparam(0 <= b[1] < 1, name, "0 <= betas[1] < 1", b[1])
        check_hparam(g["weight_decay"] >= 0, name, "weight_decay >= 0", g["weight_decay"])

    def _init_state(self, p, group: dict) -> dict:
        xp = B.get_array_module(p.array)
        st = {"step": 0, "exp_avg": xp.zeros_like(p.array), "exp_avg_sq": xp.zeros_like(p.array)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = xp.zeros_like(p.array)
        return st

    def _update(self, p, grad, state: dict, g: dict) -> None:
        state["step"] += 1
        beta1, beta2 = g["betas"]
        adam_step(p.array, grad, state["exp_avg"], state["exp_avg_sq"],
                  state.get("max_exp_avg_sq"), state["step"], lr=g["lr"], beta1=beta1,
                  beta2=beta2, eps=g["eps"], weight_decay=g["weight_decay"],
                  amsgrad=g["amsgrad"], maximize=g["maximize"],
                  decoupled=g["decoupled_weight_decay"])


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, PyTorch's defaults.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 1e-3.
        betas (tuple[float, float]): Default (0.9, 0.999).
        eps (float): Default 1e-8.
        weight_decay (float): decoupled decay, ``param *= 1 - lr * weight_decay`` each step.
            Default 1e-2.
        amsgrad (bool): Default False.
        maximize (bool): Default False.

    Example:
        >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)

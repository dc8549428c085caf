"""NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum-decay schedule."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, check_hparam, ema_, update_direction

__all__ = ["NAdam", "nadam_step"]


def nadam_step(param, grad, exp_avg, exp_avg_sq, step: int, mu_product: float, *, lr: float,
               beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
               momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False,
               maximize: bool = False) -> float:
    """One NAdam update in place (PyTorch's rule, any array module).

    ``mu_t = b1 (1 - 0.5 * 0.96^(t psi))`` (``psi`` the momentum decay),
    ``prod_t = prod_{i<=t} mu_i``; with ``m``, ``v`` Adam's moments and
    ``denom = sqrt(v / (1 - b2^t)) + eps``:
    ``param -= lr (1 - mu_t) / (1 - prod_t) g / denom + lr mu_{t+1} / (1 - prod_t mu_{t+1})
    m / denom``.

    Args:
        param: array updated in place. grad: its gradient (not modified).
        exp_avg, exp_avg_sq: Adam's moment arrays, updated in place.
        step (int): the step number, counting this one (1 on the first update).
        mu_product (float): product of the ``mu`` of the previous steps (1.0 at first).
        lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize:
            see :class:`NAdam`.

    Returns:
        float: the new ``mu_product`` (including this step's ``mu``).

    Shape:
        All arrays share ``param``'s shape.
    """
    xp = B.get_array_module(param)
    g = update_direction(param, grad, lr=lr, weight_decay=weight_decay, maximize=maximize,
                         decoupled=decoupled_weight_decay)
    bias_correction2 = 1.0 - beta2 ** step
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = mu_product * mu
    exp_avg += (g - exp_avg) * (1.0 - beta1)
    ema_(exp_avg_sq, g * g, beta2)
    denom = xp.sqrt(exp_avg_sq / bias_correction2)
    denom += eps
    mu_product_next = mu_product * mu_next
    param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
    param += ((-lr * mu_next) / (1.0 - mu_product_next)) * (exp_avg / denom)
    return mu_product


class NAdam(Optimizer):
    """NAdam: PyTorch's rule and defaults.

    Args:
        params: Parameters or param-group dicts (see :class:`Optimizer`).
        lr (float): learning rate. Default 2e-3.
        betas (tuple[float, float]): moment decay rates. Default (0.9, 0.999).
        eps (float): added to the denominator. Default 1e-8.
        weight_decay (float): weight decay. Default 0.
        momentum_decay (float): ``psi`` of the momentum schedule. Default 4e-3.
        decoupled_weight_decay (bool): decay the weights directly (as AdamW) instead of adding
            an L2 term to the gradient. Default False.
        maximize (bool): ascend the objective instead. Default False.

    State per parameter:
        ``step`` (int), ``mu_product`` (float), ``exp_avg``, ``exp_avg_sq`` (arrays).

    Example:
        >>> opt = NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g: dict) -> None:
        b = g["betas"]
        check_hparam(len(b) == 2, "NAdam", "betas of length 2", tuple(b))
        check_hparam(g["lr"] >= 0, "NAdam", "lr >= 0", g["lr"])
        check_hparam(g["eps"] >= 0, "NAdam", "eps >= 0", g["eps"])
        check_hparam(0 <= b[0] < 1, "NAdam", "0 <= betas[0] < 1", b[0])
        check_hparam(0 <= b[1] < 1, "NAdam", "0 <= betas[1] < 1", b[1])
        check_hparam(g["weight_decay"] >= 0, "NAdam", "weight_decay >= 0", g["weight_decay"])
        check_hparam(g["momentum_decay"] >= 0, "NAdam", "momentum_decay >= 0",
                     g["momentum_decay"])

    def _init_state(self, p, group: dict) -> dict:
        xp = B.get_array_module(p.array)
        return {"step": 0, "mu_product": 1.0, "exp_avg": xp.zeros_like(p.array),
                "exp_avg_sq": xp.zeros_like(p.array)}

    def _update(self, p, grad, state: dict, g: dict) -> None:
        state["step"] += 1
        beta1, beta2 = g["betas"]
        state["mu_product"] = nadam_step(
            p.array, grad, state["exp_avg"], state["exp_avg_sq"], state["step"],
            state["mu_product"], lr=g["lr"], beta1=beta1, beta2=beta2, eps=g["eps"],
            weight_decay=g["weight_decay"], momentum_decay=g["momentum_decay"],
            decoupled_weight_decay=g["decoupled_weight_decay"], maximize=g["maximize"])

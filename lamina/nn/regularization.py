"""Weight penalties (seed Q13/Q19): L1 (lasso), L2 (ridge / weight decay), and the proximal L1
step that produces exact zeros.

``l1_penalty`` / ``l2_penalty`` return differentiable scalars to add to a loss. They cover
weights only by default: parameters named ``bias`` (``bias``, ``bias_*``, ``*_bias``) and every
parameter of a normalization layer (BatchNorm, LayerNorm, GroupNorm) are skipped, since shrinking
those does not reduce capacity and hurts the fit.

Why a proximal step: plain (sub)gradient descent on ``l1 * |w|`` makes weights oscillate around
zero (the subgradient ``sign(w)`` overshoots) and almost never leaves one exactly at 0. The
proximal (soft-threshold) step ``w <- sign(w) * max(|w| - lr * l1, 0)`` applied after each plain
gradient step on the data loss is the exact minimiser of the L1 part and sets small weights to
exactly zero: that is how a truly sparse L1 solution is obtained (ISTA).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from .module import Module
from .normalization import GroupNorm, LayerNorm, _BatchNorm

__all__ = ["regularized_parameters", "l1_penalty", "l2_penalty", "L1L2Regularizer",
           "prox_l1_"]

_NORM_TYPES = (_BatchNorm, LayerNorm, GroupNorm)


def _is_bias(name: str) -> bool:
    return name == "bias" or name.startswith("bias_") or name.endswith("_bias")


def regularized_parameters(module: Module, include_bias: bool = False):
    """Yield ``(qualified_name, Parameter)`` for the parameters a weight penalty applies to.

    Args:
        module (Module): the model.
        include_bias (bool): also yield biases and normalization parameters. Default False.

    Returns:
        generator of ``(name, Parameter)``; shared parameters once; frozen parameters
        (``requires_grad=False``) are skipped.
    """
    seen = set()
    for mname, m in module.named_modules():
        is_norm = isinstance(m, _NORM_TYPES)
        for pname, p in m._parameters.items():
            if p is None or id(p) in seen or not p.requires_grad:
                continue
            if not include_bias and (is_norm or _is_bias(pname)):
                continue
            seen.add(id(p))
            yield (f"{mname}.{pname}" if mname else pname), p


def _zero(module):
    p = next(iter(module.parameters()), None)
    dt = p.dtype if p is not None else B.get_default_dtype()
    return Tensor(B.np.zeros((), dtype=dt))


def l1_penalty(module: Module, include_bias: bool = False) -> Tensor:
    """``sum_w |w|`` over the module's weights (differentiable scalar).

    Args:
        module (Module): the model.
        include_bias (bool): include biases and normalization parameters. Default False.

    Returns:
        Tensor: scalar; its gradient is ``sign(w)`` (0 at w == 0).

    Example:
        >>> loss = F.cross_entropy(model(x), y) + 1e-4 * nn.l1_penalty(model)
    """
    total = None
    for _, p in regularized_parameters(module, include_bias):
        t = p.abs().sum()
        total = t if total is None else total + t
    return _zero(module) if total is None else total


def l2_penalty(module: Module, include_bias: bool = False) -> Tensor:
    """``sum_w w^2`` over the module's weights (differentiable scalar). Its gradient is
    ``2 w``, so adding ``(wd / 2) * l2_penalty`` equals SGD weight decay ``wd``.

    Args:
        module (Module): the model.
        include_bias (bool): include biases and normalization parameters. Default False.

    Returns:
        Tensor: scalar.
    """
    total = None
    for _, p in regularized_parameters(module, include_bias):
        t = (p * p).sum()
        total = t if total is None else total + t
    return _zero(module) if total is None else total


class L1L2Regularizer:
    """Callable ``module -> l1 * l1_penalty(module) + l2 * l2_penalty(module)`` (Keras's
    ``L1L2``; elastic net when both are positive).

    Args:
        l1 (float): L1 coefficient. Default 0.
        l2 (float): L2 coefficient (on the sum of squares). Default 0.
        include_bias (bool): Default False.

    Example:
        >>> reg = nn.L1L2Regularizer(l1=1e-5, l2=1e-4)
        >>> loss = criterion(model(x), y) + reg(model)
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, include_bias: bool = False):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"L1L2Regularizer: expected l1 >= 0 and l2 >= 0, got l1={l1}, "
                             f"l2={l2}")
        self.l1, self.l2, self.include_bias = float(l1), float(l2), include_bias

    def __call__(self, module: Module) -> Tensor:
        total = _zero(module)
        if self.l1:
            total = total + self.l1 * l1_penalty(module, self.include_bias)
        if self.l2:
            total = total + self.l2 * l2_penalty(module, self.include_bias)
        return total

    def __repr__(self) -> str:
        return f"L1L2Regularizer(l1={self.l1}, l2={self.l2})"


def prox_l1_(module: Module, lr: float, l1: float, include_bias: bool = False) -> int:
    """Proximal L1 step, in place: ``w <- sign(w) * max(|w| - lr * l1, 0)`` on every weight.

    Call it after each gradient step on the *data* loss (without the L1 term): the pair is
    proximal gradient descent (ISTA), whose iterates contain exact zeros.

    Args:
        module (Module): the model.
        lr (float): the learning rate of the gradient step just taken.
        l1 (float): L1 coefficient.
        include_bias (bool): Default False.

    Returns:
        int: number of weights that are exactly zero afterwards.

    Example:
        >>> loss.backward(); opt.step(); nn.prox_l1_(model, lr=0.1, l1=1e-3)
    """
    thr = float(lr) * float(l1)
    if thr < 0:
        raise ValueError(f"prox_l1_: expected lr * l1 >= 0, got lr={lr}, l1={l1}")
    zeros = 0
    with no_grad():
        for _, p in regularized_parameters(module, include_bias):
            w = p.array
            xp = B.get_array_module(w)
            shrunk = xp.maximum(xp.abs(w) - w.dtype.type(thr), 0)
            w[...] = xp.sign(w) * shrunk
            zeros += int((w == 0).sum())
    return zeros

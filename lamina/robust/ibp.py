"""Interval bound propagation (Gowal et al. 2018): sound per-coordinate bounds of a network's
outputs over the L-inf ball, a certificate from them, and IBP training.

Bounds travel as center ``mu`` and radius ``r`` (Tensors, so the bound is differentiable and
can be trained): affine layers map ``mu`` through the layer and ``r`` through ``|W|``;
monotone layers (ReLU-like activations, max/avg pooling, flatten, dropout in eval) map the
lower and upper ends. The last ``Linear`` is folded into the specification ``z_j - z_y`` (the
paper's elision), which is tighter than bounding the logits first.

Supported: models whose forward is the chain of their leaf modules in registration order
(``Sequential``, ``MLP``, ``LeNet5``...), built from Linear, Conv2d, BatchNorm (running
statistics), ReLU, LeakyReLU, ReLU6, Hardtanh, Sigmoid, Tanh, ELU, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d, Flatten, Dropout and Identity.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..errors import check, op_error
from ..nn import activation as A
from ..nn import conv, layers, normalization, pooling
from ..optim import clip_grad_norm_
from ..train.step import compute_loss, split_batch
from ._util import as_array, frozen

np = B.np

__all__ = ["interval_bounds", "ibp_margins", "certify", "certified_accuracy",
           "ibp_training", "IBPSchedule"]

_MONOTONE = tuple(getattr(A, n) for n in ("ReLU", "LeakyReLU", "ReLU6", "Hardtanh", "Sigmoid",
                                          "Tanh", "ELU") if hasattr(A, n)) + (
    pooling.MaxPool2d, pooling.AvgPool2d, pooling.AdaptiveAvgPool2d, layers.Flatten,
    layers.Dropout, layers.Identity)
_BN = (normalization.BatchNorm1d, normalization.BatchNorm2d)


def _leaves(model):
    kids = list(model.children())
    if not kids:
        return [model]
    out = []
    for k in kids:
        out += _leaves(k)
    return out


def _layer(m, mu, r):
    if isinstance(m, layers.Linear):
        return m(mu), F.linear(r, m.weight.abs())
    if isinstance(m, conv.Conv2d):
        return m(mu), F.conv2d(r, m.weight.abs(), None, m.stride, m.padding, m.dilation,
                               m.groups)
    if isinstance(m, _BN):
        rm, rv = m._buffers["running_mean"], m._buffers["running_var"]
        check(rm is not None, "ibp", "BatchNorm with running statistics",
              "track_running_stats=False")
        shape = (1, -1) + (1,) * (mu.ndim - 2)
        scale = Tensor((1.0 / np.sqrt(rv + m.eps)).astype(rv.dtype)).reshape(*shape)
        if m.weight is not None:
            scale = scale * m.weight.reshape(*shape)
        shift = mu - Tensor(rm).reshape(*shape)
        out = shift * scale + (m.bias.reshape(*shape) if m.bias is not None else 0.0)
        return out, r * scale.abs()
    if isinstance(m, layers.Dropout) or isinstance(m, layers.Identity):
        return mu, r
    if isinstance(m, _MONOTONE):
        lo, hi = m(mu - r), m(mu + r)
        return (hi + lo) * 0.5, (hi - lo) * 0.5
    raise op_error("ibp", "layers IBP can bound (Linear, Conv2d, BatchNorm, ReLU-like, "
                   "pooling, Flatten, Dropout)", f"{type(m).__name__}",
                   "wrap only supported layers, chained in registration order")


def _input_box(x, eps, clip_min, clip_max):
    xp = B.get_array_module(x)
    lo = xp.clip(x - eps, clip_min, clip_max)
    hi = xp.clip(x + eps, clip_min, clip_max)
    return Tensor((hi + lo) * 0.5), Tensor((hi - lo) * 0.5)


def interval_bounds(model, x, eps, clip_min=0.0, clip_max=1.0):
    """Elementwise lower/upper bounds of ``model``'s outputs over the L-inf ball of ``x``.

    Args:
        model (Module): a supported chain (see the module docstring).
        x (Tensor or array): inputs ``(N, ...)``.
        eps (float): L-inf radius (intersected with ``[clip_min, clip_max]``).
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Returns:
        tuple: ``(lower, upper)`` Tensors of the outputs' shape.
    """
    mu, r = _input_box(as_array(x), eps, clip_min, clip_max)
    for m in _leaves(model):
        mu, r = _layer(m, mu, r)
    return mu - r, mu + r


def ibp_margins(model, x, y, eps, clip_min=0.0, clip_max=1.0):
    """Upper bounds of ``z_j - z_y`` over the ball (0 at ``j = y``), last Linear elided.

    Args:
        model (Module): a supported chain ending in ``Linear``.
        x (Tensor or array): inputs ``(N, ...)``; y (Tensor or array): labels ``(N,)``.
        eps (float): L-inf radius.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Returns:
        Tensor: ``(N, C)`` worst-case logits; ``cross_entropy`` of it is the IBP loss.
    """
    leaves = _leaves(model)
    last = leaves[-1]
    check(isinstance(last, layers.Linear), "ibp_margins", "a model ending in Linear",
          f"one ending in {type(last).__name__}")
    ya = as_array(y).astype(np.int64)
    mu, r = _input_box(as_array(x), eps, clip_min, clip_max)
    for m in leaves[:-1]:
        mu, r = _layer(m, mu, r)
    W = last.weight
    wd = W.unsqueeze(0) - W[ya].unsqueeze(1)  # (N, C, D)
    center = (wd @ mu.unsqueeze(2)).squeeze(2)
    if last.bias is not None:
        center = center + (last.bias.unsqueeze(0) - last.bias[ya].unsqueeze(1))
    return center + (wd.abs() @ r.unsqueeze(2)).squeeze(2)


def certify(model, x, y, eps, clip_min=0.0, clip_max=1.0, batch_size: int = 512):
    """Certified-robust flags: True where IBP proves the label cannot change within ``eps``.

    Args:
        model (Module): a supported chain ending in ``Linear`` (run in eval mode).
        x (Tensor or array): ``(N, ...)``; y (Tensor or array): labels ``(N,)``.
        eps (float): L-inf radius.
        clip_min, clip_max (float): valid input range. Default 0, 1.
        batch_size (int): evaluation batch. Default 512.

    Returns:
        array: ``(N,)`` bool (host). Sound: a True sample has no adversarial example.
    """
    xa, ya = as_array(x), B.to_host(as_array(y)).astype(np.int64)
    flags = []
    with frozen(model), no_grad():
        for i in range(0, len(xa), batch_size):
            z = ibp_margins(model, xa[i:i + batch_size], ya[i:i + batch_size], eps, clip_min,
                            clip_max).array
            z = B.to_host(z)
            z[np.arange(len(z)), ya[i:i + batch_size]] = -np.inf
            flags.append(z.max(axis=1) < 0)
    return np.concatenate(flags) if flags else np.zeros(0, dtype=bool)


def certified_accuracy(model, x, y, eps, **kwargs) -> float:
    """Fraction of samples :func:`certify` proves robust at ``eps``."""
    return float(certify(model, x, y, eps, **kwargs).mean())


class IBPSchedule:
    """Gowal et al.'s schedule: ``eps`` and ``kappa`` constant during ``warmup`` steps, then
    linear over ``ramp`` steps (eps 0 -> eps_train, kappa 1 -> kappa_end), then constant.

    Args:
        eps_train (float): final training radius (the paper uses 1.1x the test eps).
        warmup (int): clean steps first. Default 0.
        ramp (int): ramp length in steps. Default 1000.
        kappa_end (float): final weight of the clean loss. Default 0.5.
    """

    def __init__(self, eps_train, warmup: int = 0, ramp: int = 1000, kappa_end: float = 0.5):
        check(eps_train >= 0 and ramp >= 1 and 0 <= kappa_end <= 1, "IBPSchedule",
              "eps_train >= 0, ramp >= 1, 0 <= kappa_end <= 1",
              f"eps_train={eps_train}, ramp={ramp}, kappa_end={kappa_end}")
        self.eps_train, self.warmup, self.ramp, self.kappa_end = eps_train, warmup, ramp, kappa_end

    def __call__(self, step: int):
        """``(eps, kappa)`` at optimizer step ``step``."""
        t = min(max(step - self.warmup, 0) / self.ramp, 1.0)
        return self.eps_train * t, 1.0 - (1.0 - self.kappa_end) * t


def ibp_training(schedule: IBPSchedule, clip_min=0.0, clip_max=1.0):
    """A ``Trainer`` step: ``kappa * CE(z, y) + (1 - kappa) * CE(z_hat(eps), y)``.

    Args:
        schedule (IBPSchedule): eps and kappa per ``trainer.global_step``.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Returns:
        callable: ``step_fn(trainer, batch) -> dict`` (``loss``, ``eps``, ``y_pred``,
        ``y_true``).
    """
    def step(trainer, batch) -> dict:
        x, y = split_batch(batch)
        eps, kappa = schedule(trainer.global_step)
        opt = trainer.optimizer
        opt.zero_grad()
        out = trainer.model(x)
        loss = compute_loss(trainer, out, y) * kappa
        if kappa < 1.0:
            worst = ibp_margins(trainer.model, x, y, eps, clip_min, clip_max)
            loss = loss + F.cross_entropy(worst, y) * (1.0 - kappa)
        loss.backward()
        if trainer.grad_clip is not None:
            clip_grad_norm_(trainer.model.parameters(), trainer.grad_clip)
        opt.step()
        return {"loss": loss.item(), "eps": eps, "y_pred": out.array, "y_true": y.array}

    return step

"""Regression with a predicted variance: a Gaussian head, its NLL loss, ensemble mixtures, and
prediction intervals with their coverage (Nix & Weigend 1994; Lakshminarayanan et al. 2017).

A :class:`GaussianHead` outputs ``(N, 2 * D)``: the mean in the first D columns and an
unconstrained variance parameter in the last D (variance = softplus + ``min_var``), so one
Tensor flows through :class:`~lamina.train.Trainer` with ``loss_fn=gaussian_head_loss``.
"""

from __future__ import annotations

from statistics import NormalDist

from .. import backend as B
from .. import functional as F
from ..errors import check
from ..metrics._util import as_array
from ..nn.layers import Linear
from ..nn.module import Module
from ..nn.utils import batched_eval

np = B.np

__all__ = ["GaussianHead", "gaussian_nll_loss", "gaussian_head_loss", "split_mean_var",
           "predict_gaussian", "gaussian_mixture", "prediction_interval", "interval_coverage",
           "variance_scale"]

_LOG_2PI = float(np.log(2 * np.pi))


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    """Gaussian negative log-likelihood ``0.5 * (log var + (input - target)^2 / var)``, as
    ``torch.nn.functional.gaussian_nll_loss``.

    Args:
        input (Tensor): predicted means ``(N, D)`` or ``(N,)``.
        target (Tensor): same shape as ``input``.
        var (Tensor): predicted variances, same shape (or broadcastable); clamped below at
            ``eps`` for the value (the gradient passes through, as in PyTorch).
        full (bool): add the constant ``0.5 * log(2 pi)``. Default False.
        eps (float): variance floor. Default 1e-6.
        reduction (str): ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        Tensor: scalar, or the elementwise losses for ``"none"``.
    """
    check(reduction in ("mean", "sum", "none"), "gaussian_nll_loss",
          "reduction 'mean', 'sum' or 'none'", repr(reduction), cls=ValueError)
    check(tuple(input.shape) == tuple(target.shape), "gaussian_nll_loss",
          "input and target of the same shape", f"input {tuple(input.shape)} and target "
          f"{tuple(target.shape)}")
    # floor the value only: v + stop_grad(max(v, eps) - v)
    v = var + (F.clip(var.detach(), eps, None) - var.detach())
    loss = 0.5 * (F.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * _LOG_2PI
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class GaussianHead(Module):
    """Linear layer predicting a mean and a variance per output.

    Args:
        in_features (int): input size.
        out_features (int): D, the regression targets. Default 1.
        min_var (float): variance floor added to the softplus. Default 1e-6.

    Shape:
        (N, in_features) -> (N, 2 * out_features): ``[mean | raw variance]``.
    """

    def __init__(self, in_features: int, out_features: int = 1, min_var: float = 1e-6):
        super().__init__()
        self.out_features, self.min_var = int(out_features), float(min_var)
        self.linear = Linear(in_features, 2 * self.out_features)

    def forward(self, x):
        return self.linear(x)


def _split(out, d=None):
    n = out.shape[-1]
    check(n % 2 == 0, "split_mean_var", "outputs with 2 * D columns ([mean | raw variance])",
          f"{n} columns")
    return n // 2 if d is None else d


def split_mean_var(out, min_var: float = 1e-6):
    """``(mean, variance)`` Tensors of a :class:`GaussianHead` output ``(N, 2D)``."""
    d = _split(out)
    return out[:, :d], F.softplus(out[:, d:]) + min_var


def gaussian_head_loss(out, target, min_var: float = 1e-6):
    """Mean Gaussian NLL of a :class:`GaussianHead` output against ``target`` ``(N, D)``
    (a ``Trainer`` loss: ``Trainer(model, opt, gaussian_head_loss)``)."""
    mean, var = split_mean_var(out, min_var)
    return gaussian_nll_loss(mean, target.reshape(mean.shape), var)


def predict_gaussian(model, x, min_var: float = 1e-6, batch_size: int = 512):
    """Predicted means and variances of a network ending in a :class:`GaussianHead`.

    Returns:
        tuple of NumPy arrays ``(mean, var)``, each ``(N, D)``.
    """
    out = batched_eval(model, x, batch_size=batch_size).astype(np.float64)
    d = _split(out)
    raw = out[:, d:]
    var = np.where(raw > 20, raw, np.log1p(np.exp(np.minimum(raw, 20)))) + min_var
    return out[:, :d], var


def gaussian_mixture(means, variances=None):
    """Collapse M Gaussian predictions (ensemble members or MC samples) into one.

    Args:
        means: ``(M, N, D)``.
        variances: ``(M, N, D)`` or None (members without a variance head: only the spread
            between members counts).

    Returns:
        tuple ``(mean, var)`` of ``(N, D)`` arrays: ``mean_m mu_m`` and
        ``mean_m (var_m + mu_m^2) - mean^2`` (aleatoric + epistemic variance).
    """
    mu = as_array(means).astype(np.float64)
    check(mu.ndim == 3, "gaussian_mixture", "means of shape (M, N, D)", f"{mu.shape}")
    var = np.zeros_like(mu) if variances is None else as_array(variances).astype(np.float64)
    m = mu.mean(axis=0)
    return m, np.maximum((var + mu ** 2).mean(axis=0) - m ** 2, 0.0)


def prediction_interval(mean, var, level: float = 0.9):
    """Central Gaussian interval ``mean -/+ z * sqrt(var)`` holding ``level`` of the mass.

    Args:
        mean, var: arrays of the same shape.
        level (float): in (0, 1). Default 0.9 (z = 1.645).

    Returns:
        tuple ``(lower, upper)`` of arrays.
    """
    check(0 < level < 1, "prediction_interval", "0 < level < 1", repr(level), cls=ValueError)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    s = np.sqrt(as_array(var))
    mean = as_array(mean)
    return mean - z * s, mean + z * s


def interval_coverage(y, lower, upper) -> float:
    """Fraction of targets inside ``[lower, upper]`` (a 90% interval should cover ~0.9)."""
    y, lo, hi = (as_array(a).reshape(-1) for a in (y, lower, upper))
    check(len(y) == len(lo) == len(hi), "interval_coverage", "y, lower and upper of one size",
          f"{len(y)}, {len(lo)}, {len(hi)}")
    return float(np.mean((y >= lo) & (y <= hi)))


def variance_scale(mean, var, y) -> float:
    """The factor ``s^2`` that makes ``var * s^2`` the NLL-optimal variance on held-out data:
    ``mean((y - mean)^2 / var)`` (the regression analogue of temperature scaling).

    A Gaussian-NLL network tends to shrink its variances on the points it fits; multiply the
    test variances by ``s^2`` fitted on a validation split to get intervals that cover.

    Args:
        mean, var, y: validation predictions and targets, same number of values.

    Returns:
        float > 0.
    """
    m, v, t = (as_array(a).astype(np.float64).reshape(-1) for a in (mean, var, y))
    check(len(m) == len(v) == len(t) and len(t) > 0, "variance_scale",
          "mean, var and y of one non-zero size", f"{len(m)}, {len(v)}, {len(t)}")
    return float(np.mean((t - m) ** 2 / v))

"""Regression metrics: MSE, RMSE, MAE and R² (multi-output values are averaged uniformly)."""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ._util import pair

np = B.np

__all__ = ["mse", "rmse", "mae", "r2", "mean_squared_error", "mean_absolute_error", "r2_score"]


def _prep(op, y_true, y_pred):
    t, p = pair(op, y_true, y_pred)
    t = t.reshape(len(t), -1).astype(np.float64)
    p = p.reshape(len(p), -1).astype(np.float64)
    check(t.shape == p.shape, op, "y_true and y_pred of the same shape",
          f"{t.shape} and {p.shape}")
    return t, p


def mse(y_true, y_pred) -> float:
    """Mean squared error ``mean((y - ŷ)²)``.

    Args:
        y_true, y_pred: ``(N,)`` or ``(N, D)`` (``(N, 1)`` and ``(N,)`` match).

    Returns:
        float (the mean over outputs of each output's MSE).
    """
    t, p = _prep("mse", y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error; for several outputs, the mean of each output's RMSE."""
    t, p = _prep("rmse", y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0))))


def mae(y_true, y_pred) -> float:
    """Mean absolute error ``mean(|y - ŷ|)``."""
    t, p = _prep("mae", y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (averaged over outputs).

    A constant target gives 1.0 for a perfect prediction and 0.0 otherwise (scikit-learn's
    ``force_finite``).

    Args:
        y_true, y_pred: ``(N,)`` or ``(N, D)``.

    Returns:
        float <= 1 (negative when worse than predicting the mean).
    """
    t, p = _prep("r2", y_true, y_pred)
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    out = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                   np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(out))


mean_squared_error, mean_absolute_error, r2_score = mse, mae, r2

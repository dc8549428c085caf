"""Metric names for the Trainer and the CLI (``metrics=("accuracy", "f1_macro")``).

Each entry says what the metric reads from a model's raw outputs: ``"label"`` (argmax, or a
thresholded probability for one output), ``"proba"`` (softmax/sigmoid of logits), ``"score"``
(the outputs as they are, ranked) or ``"raw"`` (regression values).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from ._util import as_array, to_labels, to_proba
from .calibration import (brier_score, expected_calibration_error, maximum_calibration_error,
                          negative_log_likelihood)
from .classification import accuracy, f1_score, log_loss, precision, recall, top_k_accuracy
from .ranking import average_precision, roc_auc
from .regression import mae, mse, r2, rmse

__all__ = ["MetricSpec", "register_metric", "get_metric", "available_metrics"]

_NEEDS = ("label", "proba", "score", "raw")


@dataclass(frozen=True)
class MetricSpec:
    """A named metric: ``fn(y_true, y_pred) -> float`` and what ``y_pred`` it reads.

    Attributes:
        name (str): the log key (``"accuracy"``, ``"val_accuracy"`` for validation).
        fn (callable): ``fn(y_true, y_pred) -> float`` on host arrays.
        needs (str): ``"label"``, ``"proba"``, ``"score"`` or ``"raw"``.
        higher_is_better (bool): for EarlyStopping/ModelCheckpoint ``mode="auto"``.
    """

    name: str
    fn: Callable
    needs: str = "raw"
    higher_is_better: bool = True

    def __call__(self, y_true, outputs) -> float:
        """The metric of raw model ``outputs`` against ``y_true``."""
        out = as_array(outputs)
        if self.needs == "label":
            out = to_labels(out)
        elif self.needs == "proba":
            out = to_proba(out)
        return self.fn(as_array(y_true), out)


_REGISTRY: dict[str, MetricSpec] = {}


def register_metric(name: str, fn: Callable, needs: str = "raw",
                    higher_is_better: bool = True) -> MetricSpec:
    """Register ``fn`` under ``name`` (replacing an earlier entry).

    Args:
        name (str): the key users pass in ``metrics=``.
        fn (callable): ``fn(y_true, y_pred) -> float`` on NumPy arrays.
        needs (str): what ``y_pred`` the metric expects: ``"label"``, ``"proba"``, ``"score"``
            or ``"raw"`` (default).
        higher_is_better (bool): default True.

    Returns:
        MetricSpec.
    """
    if needs not in _NEEDS:
        raise ValueError(f"register_metric: expected needs in {_NEEDS}, got {needs!r}")
    spec = MetricSpec(name, fn, needs, higher_is_better)
    _REGISTRY[name] = spec
    return spec


def get_metric(metric) -> MetricSpec:
    """Resolve a registered name, a :class:`MetricSpec` or a callable (used on raw outputs,
    named after its ``__name__``).

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    if isinstance(metric, MetricSpec):
        return metric
    if callable(metric):
        name = getattr(metric, "__name__", None) or type(metric).__name__
        return MetricSpec(name, metric, "raw")
    if metric not in _REGISTRY:
        raise KeyError(f"get_metric: expected one of {available_metrics()}, got {metric!r}")
    return _REGISTRY[metric]


def available_metrics() -> list[str]:
    """Sorted registered names."""
    return sorted(_REGISTRY)


register_metric("accuracy", accuracy, "label")
register_metric("acc", accuracy, "label")
for _k in (2, 3, 5):
    register_metric(f"top{_k}_accuracy", partial(top_k_accuracy, k=_k), "score")
for _avg in ("binary", "macro", "micro", "weighted"):
    _suffix = "" if _avg == "binary" else f"_{_avg}"
    register_metric(f"precision{_suffix}", partial(precision, average=_avg), "label")
    register_metric(f"recall{_suffix}", partial(recall, average=_avg), "label")
    register_metric(f"f1{_suffix}", partial(f1_score, average=_avg), "label")
register_metric("roc_auc", roc_auc, "proba")
register_metric("average_precision", average_precision, "proba")
register_metric("pr_auc", average_precision, "proba")
register_metric("log_loss", log_loss, "proba", higher_is_better=False)
register_metric("mse", mse, "raw", higher_is_better=False)
register_metric("rmse", rmse, "raw", higher_is_better=False)
register_metric("mae", mae, "raw", higher_is_better=False)
register_metric("r2", r2, "raw")


def _probs_first(fn, y_true, probs):
    return fn(probs, y_true)  # calibration metrics take probabilities first


for _name, _fn in (("ece", expected_calibration_error), ("mce", maximum_calibration_error),
                   ("nll", negative_log_likelihood), ("brier", brier_score)):
    register_metric(_name, partial(_probs_first, _fn), "proba", higher_is_better=False)

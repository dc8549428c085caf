"""``lamina.metrics``: evaluation metrics as pure functions on arrays or Tensors (seed Q22).

Written in NumPy with scikit-learn's definitions (the tests compare against it). Names in
:func:`get_metric`'s registry (``"accuracy"``, ``"f1_macro"``, ``"roc_auc"``, ``"r2"`` ...) are
what ``Trainer(metrics=...)`` and the CLI accept.
"""

from ._util import to_labels, to_proba
from .calibration import (brier_score, calibration_bins, expected_calibration_error,
                          maximum_calibration_error, negative_log_likelihood,
                          reliability_diagram)
from .classification import (accuracy, confusion_matrix, f1_score, fbeta_score, log_loss,
                             precision, precision_recall_fscore, recall, top_k_accuracy)
from .ranking import average_precision, pr_auc, rankdata, roc_auc
from .regression import mae, mean_absolute_error, mean_squared_error, mse, r2, r2_score, rmse
from .registry import MetricSpec, available_metrics, get_metric, register_metric
from .imbalanced import (balanced_accuracy, classification_report,  # noqa: E402
                         matthews_corrcoef, mcc, plot_confusion_matrix)

f1 = f1_score
roc_auc_score = roc_auc

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "precision", "recall", "f1_score",
           "f1", "fbeta_score", "precision_recall_fscore", "log_loss", "roc_auc",
           "roc_auc_score", "average_precision", "pr_auc", "rankdata", "mse", "rmse", "mae",
           "r2", "mean_squared_error", "mean_absolute_error", "r2_score", "MetricSpec",
           "get_metric", "register_metric", "available_metrics", "to_labels", "to_proba",
           "expected_calibration_error", "maximum_calibration_error", "brier_score",
           "negative_log_likelihood", "reliability_diagram", "calibration_bins"]
__all__ += ["balanced_accuracy", "matthews_corrcoef", "mcc", "classification_report",
            "plot_confusion_matrix"]

"""``lamina.uncertainty``: knowing what the model doesn't know (seed Q50, Q37).

Calibration (temperature / vector / matrix scaling, Platt scaling), MC dropout and deep
ensembles with the entropy decomposition, Gaussian-NLL regression with prediction intervals,
out-of-distribution scores with :func:`ood_report`, and selective prediction. The calibration
metrics (ECE, MCE, Brier, NLL, reliability diagram) live in :mod:`lamina.metrics`.

Example:
    >>> from lamina.uncertainty import TemperatureScaling
    >>> ts = TemperatureScaling().fit(val_logits, y_val)
    >>> ts.temperature, ts.transform(test_logits)
"""

from .bayes import (DeepEnsemble, mc_dropout_predict, mutual_information, predictive_entropy,
                    softmax, uncertainty_decomposition)
from .ood import (MahalanobisDetector, energy_score, ensemble_disagreement, max_softmax_score,
                  odin_score, ood_metrics, ood_report, penultimate_features)
from .regression import (GaussianHead, gaussian_head_loss, gaussian_mixture, gaussian_nll_loss,
                         interval_coverage, predict_gaussian, prediction_interval,
                         split_mean_var, variance_scale)
from .scaling import CalibratedModel, PlattScaling, TemperatureScaling, load_calibrator
from .selective import aurc, risk_coverage_curve

__all__ = ["TemperatureScaling", "PlattScaling", "CalibratedModel", "load_calibrator",
           "mc_dropout_predict", "DeepEnsemble", "predictive_entropy",
           "uncertainty_decomposition", "mutual_information", "softmax", "GaussianHead",
           "gaussian_nll_loss", "gaussian_head_loss", "split_mean_var", "predict_gaussian",
           "gaussian_mixture", "prediction_interval", "interval_coverage", "variance_scale",
           "max_softmax_score",
           "energy_score", "odin_score", "MahalanobisDetector", "penultimate_features",
           "ensemble_disagreement", "ood_metrics", "ood_report", "risk_coverage_curve", "aurc"]

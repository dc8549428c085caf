"""``lamina.fairness``: group metrics, bias mitigation and fairness reports (seed Q47).

Metrics follow fairlearn 0.15 (names, signatures and numbers); mitigation has one method of
each family: pre-processing :func:`reweighing` (Kamiran & Calders), in-processing
:func:`fairness_penalty` and :class:`AdversarialDebiasing` (Zhang et al. 2018), post-processing
:class:`ThresholdOptimizer` (Hardt et al. 2016).

Example:
    >>> from lamina import fairness
    >>> fairness.demographic_parity_difference(y, pred, sensitive_features=race)
"""

from .metrics import (GroupMetrics, auc_by_group, count, demographic_parity_difference,
                      demographic_parity_ratio, equal_opportunity_difference,
                      equal_opportunity_ratio, equalized_odds_difference, equalized_odds_ratio,
                      false_negative_rate, false_positive_rate, group_codes, group_metrics,
                      positive_predictive_value, predictive_parity_difference, selection_rate,
                      true_negative_rate, true_positive_rate)
from .mitigation import (CONSTRAINTS, fair_step, fairness_penalty, pack_targets, positive_proba,
                         reweighing)
from .adversarial import AdversarialDebiasing, GradientReversal, grad_reverse  # noqa: I001
from .postprocessing import ThresholdOptimizer, tradeoff_curve
from .report import fairness_report, plot_group_rates, plot_tradeoff

__all__ = ["GroupMetrics", "group_metrics", "selection_rate", "true_positive_rate",
           "false_positive_rate", "true_negative_rate", "false_negative_rate",
           "positive_predictive_value", "count", "demographic_parity_difference",
           "demographic_parity_ratio", "equalized_odds_difference", "equalized_odds_ratio",
           "equal_opportunity_difference", "equal_opportunity_ratio",
           "predictive_parity_difference", "auc_by_group", "group_codes", "reweighing",
           "fairness_penalty", "positive_proba", "pack_targets", "fair_step", "CONSTRAINTS",
           "AdversarialDebiasing", "GradientReversal", "grad_reverse", "ThresholdOptimizer",
           "tradeoff_curve", "fairness_report", "plot_group_rates", "plot_tradeoff"]

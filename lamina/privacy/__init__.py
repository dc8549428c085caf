"""``lamina.privacy``: per-example gradients, DP-SGD, privacy accounting, attacks (seed Q47).

Example:
    >>> from lamina import privacy
    >>> model, opt, loader = privacy.make_private(model, opt, loader, target_epsilon=3.0,
    ...                                           target_delta=1e-5, epochs=10)
    >>> Trainer(model, opt, "cross_entropy", step_fn=privacy.dp_step).fit(
    ...     loader, epochs=10, callbacks=[privacy.PrivacyMeter()])
"""

from .accountant import (ACCOUNTANTS, DEFAULT_ALPHAS, HistoryAccountant, RDPAccountant,
                         analytic_gaussian_epsilon, compute_rdp, get_noise_multiplier,
                         get_privacy_spent)
from .attacks import membership_inference, per_example_loss, roc_curve_scores
from .engine import PrivacyMeter, dp_step, make_private
from .grad_sample import GradSampleModule, per_sample_grads, supported_layers
from .optimizer import DPOptimizer, PoissonSampler, clip_and_accumulate
from .prv import PRVAccountant

__all__ = ["GradSampleModule", "per_sample_grads", "supported_layers", "DPOptimizer",
           "PoissonSampler", "clip_and_accumulate", "make_private", "dp_step", "PrivacyMeter",
           "RDPAccountant", "PRVAccountant", "HistoryAccountant", "ACCOUNTANTS", "compute_rdp",
           "get_privacy_spent", "get_noise_multiplier",
           "analytic_gaussian_epsilon", "DEFAULT_ALPHAS", "membership_inference",
           "per_example_loss", "roc_curve_scores"]

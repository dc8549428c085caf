"""Adversarial robustness: attacks, defences, certificates and an honest evaluation.

Attacks follow torchattacks 3.5.1 (``attack = PGD(model, eps=8/255); adv = attack(x, y)``) and
leave the model's mode, ``requires_grad`` flags and ``.grad`` as they were. Defences: adversarial
training steps for :class:`lamina.train.Trainer` (PGD, fast FGSM, TRADES), defensive
distillation, input transforms, feature squeezing, interval bound propagation (certify and train)
and randomized smoothing. :func:`robustness_report` runs an attack ladder and warns about the
signs of gradient masking.

Example:
    >>> from lamina import robust
    >>> adv = robust.PGD(model, eps=0.1, alpha=0.01, steps=40)(x, y)
    >>> print(robust.robustness_report(model, (x, y), [0.05, 0.1, 0.2]))
"""

from .attacks import *  # noqa: F401,F403
from .attacks import __all__ as _attacks_all
from .defences import *  # noqa: F401,F403
from .defences import __all__ as _defences_all
from .evaluation import RobustnessReport, default_ladder, robust_accuracy, robustness_report
from .ibp import (IBPSchedule, certified_accuracy, certify, ibp_margins, ibp_training,
                  interval_bounds)
from .plot import plot_accuracy_curves, plot_adversarial_grid
from .smoothing import ABSTAIN, RandomizedSmoothing, gaussian_augmentation

__all__ = [*_attacks_all, *_defences_all, "robust_accuracy", "robustness_report",
           "RobustnessReport", "default_ladder", "interval_bounds", "ibp_margins", "certify",
           "certified_accuracy", "ibp_training", "IBPSchedule", "RandomizedSmoothing",
           "gaussian_augmentation", "ABSTAIN", "plot_accuracy_curves", "plot_adversarial_grid"]

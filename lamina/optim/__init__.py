"""Optimizers, learning-rate schedules and gradient clipping (seed Q10, Q11, Q18, Q22).

Every optimizer works on :class:`~lamina.autograd.Parameter` objects (``.array``: the weights'
array; ``.grad``: a Tensor or None) and follows ``torch.optim``'s update rules and defaults.
Each algorithm's math is also exposed as a pure in-place function on arrays (``sgd_step``,
``adam_step``...) for GPU or distributed trainers. ``lamina.optim.lr_scheduler`` is the
schedules module.

Example:
    >>> opt = lamina.optim.AdamW(model.parameters(), lr=1e-3)
    >>> sched = lamina.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)
    >>> for x, y in loader:
    ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward()
    ...     lamina.optim.clip_grad_norm_(model.parameters(), 1.0)
    ...     opt.step(); sched.step()
"""

from . import lr_scheduler
from .adadelta import Adadelta, adadelta_step
from .adagrad import Adagrad, adagrad_step
from .adam import Adam, AdamW, adam_step
from .clip import clip_grad_norm_, clip_grad_value_, get_total_norm
from .lbfgs import LBFGS
from .lr_finder import LRFinderResult, lr_finder
from .multi import MultiOptimizer
from .lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                           CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LambdaLR, LinearLR,
                           LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR, PolynomialLR,
                           ReduceLROnPlateau, SequentialLR, StepLR)
from .nadam import NAdam, nadam_step
from .optimizer import Optimizer
from .rmsprop import RMSprop, rmsprop_step
from .sgd import SGD, sgd_step

__all__ = [
    "Optimizer", "MultiOptimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
    "NAdam", "LBFGS",
    "sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step", "nadam_step",
    "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "lr_finder", "LRFinderResult",
    "lr_scheduler", "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
    "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler",
    "ReduceLROnPlateau",
]

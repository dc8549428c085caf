"""Defences: adversarial training steps, defensive distillation, input transforms and
feature-squeezing detection."""

from .distillation import TemperatureScaled, defensive_distillation
from .squeezing import FeatureSqueezing, roc_curve
from .training import METHODS, adversarial_training, trades_loss
from .transforms import (BitDepthReduction, Defended, GaussianNoise, JPEGQuantization,
                         MedianSmoothing, RandomResizePad)

__all__ = ["adversarial_training", "trades_loss", "METHODS", "defensive_distillation",
           "TemperatureScaled", "BitDepthReduction", "JPEGQuantization", "GaussianNoise",
           "RandomResizePad", "MedianSmoothing", "Defended", "FeatureSqueezing", "roc_curve"]

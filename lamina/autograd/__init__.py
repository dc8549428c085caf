"""Tensor, Function and the reverse-mode engine (seed Q5–Q7: forward pass, backprop, chain rule)."""

from .device import device
from .engine import grad, run_backward, sum_to
from .function import Function
from .grad_mode import (detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled,
                        no_grad, set_grad_enabled)
from .tensor import Parameter, RemovableHandle, Tensor
from .creation import *  # noqa: F401,F403
from . import creation as _creation

__all__ = ["Tensor", "Parameter", "Function", "RemovableHandle", "device", "grad",
           "run_backward", "sum_to", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled", *_creation.__all__]

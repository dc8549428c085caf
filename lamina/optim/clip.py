"""Gradient clipping (seed Q11), re-exported from :mod:`lamina.nn.utils` where it lives (optim
sits above nn, and PyTorch users look for it under ``nn.utils``)."""

from ..nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]

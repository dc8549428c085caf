"""Quantization-aware training: fake-quant modules with a straight-through estimator, and
BatchNorm folding.

``prepare_qat(model)`` folds each ``Conv -> BatchNorm`` pair of a ``Sequential`` into the
convolution (eval-mode statistics), then wraps every Linear/Conv so that its input, weight
(per channel) and output are rounded to int8 in the forward pass while gradients pass straight
through inside the clipping range (Bengio et al. 2013; Jacob et al. 2018). Train the result
with the ordinary ``Trainer``; ``convert_qat`` turns it into the int8 model that
``quantize_static`` would have produced, with the learned ranges.
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd.function import Function
from ..nn.containers import Sequential
from ..nn.conv import Conv1d, Conv2d
from ..nn.layers import Identity, Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d, BatchNorm2d
from .observers import QMAX, QMIN, affine_qparams, get_observer
from .quantize import W_QMAX, QuantizedConv, QuantizedLinear, _targets

np = B.np

__all__ = ["FakeQuantize", "fake_quantize", "QATWrapper", "fold_batchnorm", "prepare_qat",
           "convert_qat"]


class FakeQuantize(Function):
    """``dequantize(quantize(x))`` forward; gradient 1 where ``x`` is inside the int8 range,
    0 where it was clipped (the clipped straight-through estimator)."""

    def forward(self, x):
        s, z = self.scale, self.zero_point
        v = np.rint(x / s) + z
        keep = (v >= QMIN) & (v <= QMAX)
        self.saved = (keep,)
        return ((np.clip(v, QMIN, QMAX) - z) * s).astype(x.dtype, copy=False)

    def backward(self, gy):
        (keep,) = self.saved
        return (gy * keep,)


def fake_quantize(x, scale, zero_point):
    """Fake-quantize ``x`` (Tensor) to int8 with ``scale``/``zero_point`` (scalars, or arrays
    broadcasting against ``x`` for per-channel weights).

    Returns:
        Tensor: same shape and dtype; gradient by the clipped straight-through estimator.
    """
    return FakeQuantize.apply(x, scale=scale, zero_point=zero_point)


def _fold(conv, bn):
    """Conv with the eval-mode BatchNorm after it folded into its weight and bias."""
    out = copy.deepcopy(conv)
    std = np.sqrt(bn.running_var.array + bn.eps)
    gamma = bn.weight.array if bn.weight is not None else np.ones_like(std)
    beta = bn.bias.array if bn.bias is not None else np.zeros_like(std)
    scale = (gamma / std).astype(conv.weight.array.dtype)
    out.weight.array[...] = conv.weight.array * scale.reshape((-1,) + (1,) * (
        conv.weight.array.ndim - 1))
    b = conv.bias.array if conv.bias is not None else np.zeros_like(scale)
    folded = (beta + (b - bn.running_mean.array) * scale).astype(scale.dtype)
    if out.bias is None:
        from ..nn.module import Parameter
        out.bias = Parameter(folded)
    else:
        out.bias.array[...] = folded
    return out


def fold_batchnorm(model):
    """A copy of ``model`` with every ``Conv -> BatchNorm`` (and ``Linear -> BatchNorm1d``)
    pair inside a ``Sequential`` folded into one layer (eval-mode statistics; the BatchNorm
    becomes ``Identity``). Outputs in eval mode are unchanged up to rounding.

    Args:
        model (Module): the float model (left unchanged).

    Returns:
        Module: the folded copy.
    """
    m = copy.deepcopy(model)
    for seq in m.modules():
        if not isinstance(seq, Sequential):
            continue
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            la, lb = seq._modules[a], seq._modules[b]
            if isinstance(la, (Conv1d, Conv2d, Linear)) and isinstance(lb, (BatchNorm1d,
                                                                            BatchNorm2d)):
                seq._modules[a] = _fold(la, lb)
                seq._modules[b] = Identity()
    return m


class QATWrapper(Module):
    """A Linear/Conv trained with fake-quantized input, weight and output.

    Args:
        layer (Linear, Conv1d or Conv2d): the float layer (trained in place).
        observer (str): activation observer. Default ``"moving_average"``.

    Shape:
        as ``layer``.
    """

    def __init__(self, layer, observer="moving_average"):
        super().__init__()
        self.layer = layer
        self.obs_in, self.obs_out = get_observer(observer), get_observer(observer)

    def _weight(self):
        w = self.layer.weight
        amax = np.abs(w.array).reshape(w.shape[0], -1).max(axis=1)
        s = np.maximum(amax / W_QMAX, 1e-8).astype(w.array.dtype)  # as convert_qat
        return fake_quantize(w, s.reshape((-1,) + (1,) * (w.ndim - 1)), 0)

    def _fq(self, x, obs):
        if self.training:
            obs.observe(x.array)
        s, z = affine_qparams(*obs.range())
        return fake_quantize(x, float(s), int(z))

    def forward(self, x):
        L = self.layer
        x = self._fq(x, self.obs_in)
        w = self._weight()
        if isinstance(L, Linear):
            y = F.linear(x, w, L.bias)
        else:
            conv = F.conv1d if isinstance(L, Conv1d) else F.conv2d
            y = conv(x, w, L.bias, L.stride, L.padding, L.dilation, L.groups)
        return self._fq(y, self.obs_out)


def prepare_qat(model, observer="moving_average", fold_bn: bool = True):
    """A copy of ``model`` ready for quantization-aware training.

    Args:
        model (Module): a (usually pre-trained) float model, left unchanged.
        observer (str): activation observer. Default ``"moving_average"``.
        fold_bn (bool): fold BatchNorm into the convolutions first. Default True.

    Returns:
        Module: train it with ``Trainer`` as usual; then :func:`convert_qat`.
    """
    m = fold_batchnorm(model) if fold_bn else copy.deepcopy(model)
    for parent, name, layer in _targets(m, (Linear, Conv1d, Conv2d)):
        setattr(parent, name, QATWrapper(layer, observer))
    return m


def convert_qat(model):
    """The int8 model of a QAT-trained one (observers' ranges, trained weights).

    Args:
        model (Module): the output of :func:`prepare_qat` after training.

    Returns:
        Module: a copy with :class:`~lamina.deploy.quantize.QuantizedLinear` /
        ``QuantizedConv`` layers, in eval mode.
    """
    m = copy.deepcopy(model).eval()
    for parent, name, w in _targets(m, (QATWrapper,)):
        cls = QuantizedLinear if isinstance(w.layer, Linear) else QuantizedConv
        setattr(parent, name, cls(w.layer, w.obs_in.qparams(), w.obs_out.qparams()))
    return m

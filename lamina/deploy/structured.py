"""Structured filter pruning: drop whole convolution filters and return a smaller dense model.

Filters are ranked by the L1 norm of their weights (Li et al., "Pruning Filters for Efficient
ConvNets", ICLR 2017). Removing output channel ``c`` of a convolution also removes channel
``c`` of the BatchNorm after it, input channel ``c`` of the next convolution, or, through a
``Flatten``, the ``H*W`` input features of the next ``Linear`` that came from channel ``c``.
The model must run its layers in registration order (a chain of ``Sequential`` s: LeNet-5,
the CLI's ``small_cnn``, CNN1DClassifier...); residual networks need their own plan.
"""

from __future__ import annotations

import copy

from .. import backend as B
from ..errors import check, op_error
from ..nn.conv import Conv1d, Conv2d
from ..nn.layers import Dropout, Flatten, Identity, Linear
from ..nn.module import Module, Parameter
from ..nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm

np = B.np

__all__ = ["prune_filters"]

_PASS = (Dropout, Identity)   # and activations / pooling: anything without parameters


def _leaves(model):
    return [(n, m) for n, m in model.named_modules() if not m._modules]


def _set(model, name, new):
    parent = model
    *path, last = name.split(".")
    for p in path:
        parent = parent._modules[p]
    parent._modules[last] = new


def _slice_out(conv, keep):
    new = copy.deepcopy(conv)
    new.weight = Parameter(conv.weight.array[keep].copy())
    if conv.bias is not None:
        new.bias = Parameter(conv.bias.array[keep].copy())
    new.out_channels = len(keep)
    return new


def _slice_in(conv, keep):
    new = copy.deepcopy(conv)
    check(conv.groups == 1, "prune_filters", "a following convolution with groups=1",
          f"groups={conv.groups}")
    new.weight = Parameter(conv.weight.array[:, keep].copy())
    new.in_channels = len(keep)
    return new


def _slice_bn(bn, keep):
    new = copy.deepcopy(bn)
    for k in ("weight", "bias"):
        p = getattr(bn, k)
        if p is not None:
            setattr(new, k, Parameter(p.array[keep].copy()))
    for k in ("running_mean", "running_var"):
        if bn._buffers.get(k) is not None:
            new._buffers[k] = bn._buffers[k][keep].copy()
    new.num_features = len(keep)
    return new


def _slice_linear_in(lin, keep, channels):
    per = lin.in_features // channels
    check(per * channels == lin.in_features, "prune_filters",
          f"a Linear after Flatten with in_features divisible by {channels} channels",
          f"in_features={lin.in_features}")
    cols = (np.asarray(keep)[:, None] * per + np.arange(per)[None, :]).reshape(-1)
    new = copy.deepcopy(lin)
    new.weight = Parameter(lin.weight.array[:, cols].copy())
    new.in_features = len(cols)
    return new


def prune_filters(model, amount: float = 0.5, example_input=None):
    """Remove the ``amount`` fraction of lowest-L1 filters of every convolution that feeds
    another convolution or a Linear, fixing the next layers' shapes.

    Args:
        model (Module): a trained model (left unchanged).
        amount (float): fraction of filters removed per convolution (at least one filter is
            kept). Default 0.5.
        example_input (Tensor, optional): when given, the pruned model is run on it to check
            that the shapes fit.

    Returns:
        Module: a smaller dense copy (fewer parameters and FLOPs; fine-tune it afterwards).

    Example:
        >>> small = prune_filters(LeNet5(), 0.5, lamina.randn(2, 1, 28, 28))
        >>> small.features[0].out_channels
        3
    """
    check(0.0 <= amount < 1.0, "prune_filters", "amount in [0, 1)", f"{amount}",
          cls=ValueError)
    m = copy.deepcopy(model)
    leaves = _leaves(m)
    for i in range(len(leaves)):
        name, layer = leaves[i]     # re-read: an earlier step may have replaced it
        if not isinstance(layer, (Conv1d, Conv2d)) or layer.groups != 1:
            continue
        c = layer.out_channels
        n_keep = max(1, c - int(round(amount * c)))
        l1 = np.abs(layer.weight.array).reshape(c, -1).sum(axis=1)
        keep = np.sort(np.argsort(-l1, kind="stable")[:n_keep])
        plan, flattened = [], False
        for nname, nxt in leaves[i + 1:]:
            if isinstance(nxt, (BatchNorm1d, BatchNorm2d)) and not flattened:
                plan.append((nname, _slice_bn(nxt, keep)))
            elif isinstance(nxt, (Conv1d, Conv2d)) and not flattened:
                plan.append((nname, _slice_in(nxt, keep)))
                break
            elif isinstance(nxt, Linear):
                if not flattened:
                    raise op_error("prune_filters", "a Flatten between a conv and a Linear",
                                   f"'{name}' feeds '{nname}' directly")
                plan.append((nname, _slice_linear_in(nxt, keep, c)))
                break
            elif isinstance(nxt, Flatten):
                flattened = True
            elif isinstance(nxt, (GroupNorm, LayerNorm)) or nxt._parameters:
                plan = None    # a layer we cannot follow: leave this conv alone
                break
        else:
            plan = None        # the last conv (its output is the model's): keep it whole
        if not plan:
            continue
        _set(m, name, _slice_out(layer, keep))
        for nname, new in plan:
            _set(m, nname, new)
        leaves = _leaves(m)
    if example_input is not None:
        from ..autograd.grad_mode import no_grad
        m.eval()
        with no_grad():
            m(example_input)
    return m


def count_parameters(model: Module) -> int:
    """Number of parameter values."""
    return int(sum(p.array.size for p in model.parameters()))

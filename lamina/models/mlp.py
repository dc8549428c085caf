"""Multi-layer perceptron (seed Q4) as a ``Sequential``, so its state dict reads like PyTorch's
``nn.Sequential(nn.Linear, nn.ReLU, ..., nn.Linear)`` (``0.weight``, ``0.bias``, ``2.weight``...).
"""

from __future__ import annotations

import copy

from ..nn.activation import get_activation
from ..nn.containers import Sequential
from ..nn.layers import Dropout, Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d

__all__ = ["MLP"]


class MLP(Sequential):
    """Fully connected network: for each hidden width ``h``,
    ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``, then a final ``Linear`` to
    ``out_features`` (no output activation: the losses take logits).

    Args:
        in_features (int): input size.
        hidden (int | sequence of int): hidden widths. Default (256, 256). ``()`` gives a
            linear model.
        out_features (int): output size (required).
        activation: hidden activation: a name ('relu' default, 'tanh', 'sigmoid', 'gelu',
            'leaky_relu', 'elu', 'selu', 'silu', ...), a Module class or a callable.
        dropout (float): dropout probability after each hidden activation; 0 adds no layer.
            Default 0.0.
        batch_norm (bool): ``BatchNorm1d`` after each hidden Linear (its bias is then
            redundant but kept, as in most PyTorch code). Default False.
        init (str | callable | None): weight init of every Linear (see :class:`nn.Linear`).
            Default None (PyTorch's).

    Shape:
        (N, in_features) -> (N, out_features).

    Example:
        >>> model = MLP(784, (256, 128), 10, dropout=0.2)
        >>> model(lamina.randn(32, 784)).shape
        (32, 10)
    """

    def __init__(self, in_features: int, hidden=(256, 256), out_features: int | None = None,
                 activation="relu", dropout: float = 0.0, batch_norm: bool = False, init=None):
        if out_features is None:
            raise TypeError("MLP: expected out_features (the output size), got None; e.g. "
                            "MLP(784, (256, 256), 10)")
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        layers = []
        prev = in_features
        for h in hidden:
            layers.append(Linear(prev, h, init=init))
            if batch_norm:
                layers.append(BatchNorm1d(h))
            # a Module instance is copied so that learnable activations (PReLU) are not shared
            act = copy.deepcopy(activation) if isinstance(activation, Module) else activation
            layers.append(get_activation(act))
            if dropout > 0:
                layers.append(Dropout(dropout))
            prev = h
        layers.append(Linear(prev, out_features, init=init))
        super().__init__(*layers)
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features

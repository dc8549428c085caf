"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 1998), in its common modern form: ReLU (or tanh), max (or average)
pooling and a plain linear output instead of the paper's RBF units.

The module tree is two ``Sequential`` s, ``features`` and ``classifier``, so the state dict
(``features.0.weight``, ``classifier.1.weight``, ...) maps 1:1 onto the same tree built from
``torch.nn``.
"""

from __future__ import annotations

from ..errors import check
from ..nn.activation import get_activation
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.layers import Dropout, Flatten, Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm2d
from ..nn.pooling import AvgPool2d, MaxPool2d

__all__ = ["LeNet5"]


def _side(size: int) -> int:
    """Spatial size after conv5x5 (pad 2) -> pool2 -> conv5x5 -> pool2."""
    return (size // 2 - 4) // 2


class LeNet5(Module):
    """LeNet-5: conv5x5(6) -> pool -> conv5x5(16) -> pool -> fc 120 -> fc 84 -> fc classes.

    The first convolution pads by 2, so a 28x28 MNIST digit is seen as the paper's 32x32
    input (feature maps 28x28 -> 14x14 -> 10x10 -> 5x5, 400 features into the first fc).

    Args:
        num_classes (int): outputs (logits). Default 10.
        in_channels (int): input channels. Default 1.
        activation (str): ``'relu'`` (default) or ``'tanh'`` (the paper's squashing function),
            or any name :func:`lamina.nn.get_activation` knows.
        batch_norm (bool): ``BatchNorm2d`` after each convolution (the convolutions then drop
            their bias). Default False.
        input_size (int or tuple): input height and width. Default 28.
        pool (str): ``'max'`` (default) or ``'avg'`` (the paper's subsampling, without its
            trainable scale).
        dropout (float): dropout before the last two fc layers; 0 adds no layer. Default 0.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``; H, W >= 12.

    Example:
        >>> model = LeNet5(num_classes=10, batch_norm=True)
        >>> model(lamina.randn(8, 1, 28, 28)).shape
        (8, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation="relu",
                 batch_norm: bool = False, input_size=28, pool: str = "max",
                 dropout: float = 0.0):
        super().__init__()
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        check(min(h, w) >= 12, "LeNet5", "input height and width >= 12", f"{(h, w)}")
        check(pool in ("max", "avg"), "LeNet5", "pool 'max' or 'avg'", repr(pool))
        Pool = MaxPool2d if pool == "max" else AvgPool2d
        layers = []
        for cin, cout, pad in ((in_channels, 6, 2), (6, 16, 0)):
            layers.append(Conv2d(cin, cout, 5, padding=pad, bias=not batch_norm))
            if batch_norm:
                layers.append(BatchNorm2d(cout))
            layers += [get_activation(activation), Pool(2)]
        self.features = Sequential(*layers)
        head = [Flatten(), Linear(16 * _side(h) * _side(w), 120), get_activation(activation)]
        head += [Dropout(dropout)] if dropout > 0 else []
        head += [Linear(120, 84), get_activation(activation)]
        head += [Dropout(dropout)] if dropout > 0 else []
        head.append(Linear(84, num_classes))
        self.classifier = Sequential(*head)
        self.num_classes, self.in_channels = num_classes, in_channels

    def forward(self, x):
        return self.classifier(self.features(x))

    @classmethod
    def from_config(cls, input_shape, n_out: int, **opts) -> "LeNet5":
        """Build for samples of ``input_shape`` ``(C, H, W)`` and ``n_out`` classes (the CLI's
        ``[model] name = "lenet5"``; options: activation, batch_norm, pool, dropout)."""
        check(len(input_shape) == 3, "LeNet5.from_config", "image samples (C, H, W)",
              f"{tuple(input_shape)}")
        c, h, w = input_shape
        return cls(num_classes=n_out, in_channels=c, input_size=(h, w), **opts)

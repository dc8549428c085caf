"""CIFAR-style residual networks (He, Zhang, Ren & Sun, "Deep residual learning for image
recognition", CVPR 2016, section 4.2): a 3x3 stem, three stages of ``BasicBlock`` s with widths
``w, 2w, 4w`` (the last two halve the resolution), global average pooling and a linear head.
``depth = 6n + 2`` (ResNet-8: n = 1, ResNet-20: n = 3).

Names follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``,
``fc``), so a state dict maps 1:1 onto the same tree built from ``torch.nn``. Shortcuts that
change shape use a 1x1 strided projection plus BatchNorm (the paper's option B).
"""

from __future__ import annotations

from .. import functional as F
from ..errors import check
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.layers import Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm2d
from ..nn.pooling import AdaptiveAvgPool2d

__all__ = ["BasicBlock", "ResNet"]


class BasicBlock(Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with 3x3 convolutions.

    Args:
        in_channels (int), out_channels (int): channel counts.
        stride (int): stride of the first convolution (and of the projection). Default 1.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = Sequential(
                Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet(Module):
    """CIFAR-style ResNet-(6n+2) for small images (8x8 digits, 28x28 MNIST, 32x32 CIFAR).

    Args:
        depth (int): 6n + 2, e.g. 8 or 20 (default) or 32, 44, 56.
        num_classes (int): outputs (logits). Default 10.
        in_channels (int): input channels. Default 3.
        width (int): channels of the first stage (doubled at each later stage). Default 16.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)`` for any H, W >= 1.

    Example:
        >>> model = ResNet(depth=8, num_classes=10, in_channels=1)
        >>> model(lamina.randn(4, 1, 28, 28)).shape
        (4, 10)
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 width: int = 16):
        super().__init__()
        check(depth >= 8 and (depth - 2) % 6 == 0, "ResNet", "depth = 6n + 2 (8, 20, 32, ...)",
              repr(depth))
        check(width >= 1, "ResNet", "width >= 1", repr(width))
        n = (depth - 2) // 6
        self.depth, self.width, self.num_classes = depth, width, num_classes
        self.conv1 = Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = BatchNorm2d(width)
        cin = width
        for i, (cout, stride) in enumerate(((width, 1), (2 * width, 2), (4 * width, 2))):
            blocks = [BasicBlock(cin if b == 0 else cout, cout, stride if b == 0 else 1)
                      for b in range(n)]
            setattr(self, f"layer{i + 1}", Sequential(*blocks))
            cin = cout
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc = Linear(4 * width, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(F.flatten(self.avgpool(x), 1))

    @classmethod
    def from_config(cls, input_shape, n_out: int, **opts) -> "ResNet":
        """Build for samples of ``input_shape`` ``(C, H, W)`` and ``n_out`` classes (the CLI's
        ``[model] name = "resnet"``; options: depth, width)."""
        check(len(input_shape) == 3, "ResNet.from_config", "image samples (C, H, W)",
              f"{tuple(input_shape)}")
        return cls(num_classes=n_out, in_channels=input_shape[0], **opts)

"""Pooling and upsampling layers with PyTorch's names, arguments and ``extra_repr``."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "LPPool1d", "LPPool2d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "GlobalAvgPool2d", "GlobalMaxPool2d", "Upsample", "UpsamplingNearest2d"]


def _single(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling, as ``torch.nn.MaxPool2d``; see :func:`lamina.functional.max_pool2d`.

    Args:
        kernel_size (int or tuple). stride (int, tuple or None): None = ``kernel_size``.
        padding (int or tuple): Default 0. dilation (int or tuple): Default 1.
        return_indices (bool): Default False. ceil_mode (bool): Default False.

    Shape:
        ``(N, C, H, W) -> (N, C, OH, OW)``.

    Example:
        >>> nn.MaxPool2d(2)(lamina.randn(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling of ``(N, C, L)``, as ``torch.nn.MaxPool1d`` (arguments as
    :class:`MaxPool2d`, ints)."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """2-D average pooling, as ``torch.nn.AvgPool2d``; see
    :func:`lamina.functional.avg_pool2d`.

    Args:
        kernel_size (int or tuple). stride (int, tuple or None): None = ``kernel_size``.
        padding (int or tuple): Default 0. ceil_mode (bool): Default False.
        count_include_pad (bool): Default True. divisor_override (int or None): Default None.

    Shape:
        ``(N, C, H, W) -> (N, C, OH, OW)``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(Module):
    """1-D average pooling of ``(N, C, L)``, as ``torch.nn.AvgPool1d``.

    Args:
        kernel_size (int). stride (int or None): None = ``kernel_size``. padding (int):
        Default 0. ceil_mode (bool): Default False. count_include_pad (bool): Default True.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class LPPool2d(Module):
    """Power-average pooling ``(sum x**p)**(1/p)`` over windows (``norm_type=2``: L2-norm
    pooling), as ``torch.nn.LPPool2d``.

    Args:
        norm_type (float): ``p``. kernel_size (int or tuple). stride (int, tuple or None):
            None = ``kernel_size``. ceil_mode (bool): Default False.

    Shape:
        ``(N, C, H, W) -> (N, C, OH, OW)``.
    """

    _fn = staticmethod(F.lp_pool2d)

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")

    def forward(self, x):
        return self._fn(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(LPPool2d):
    """1-D :class:`LPPool2d` of ``(N, C, L)``, as ``torch.nn.LPPool1d``."""

    _fn = staticmethod(F.lp_pool1d)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` for any input size (PyTorch's bins), as
    ``torch.nn.AdaptiveAvgPool2d``.

    Args:
        output_size (int or tuple): ``(OH, OW)``; None in a tuple keeps that input size.

    Shape:
        ``(N, C, H, W) -> (N, C, OH, OW)``.
    """

    _fn = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x):
        return self._fn(x, self.output_size)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """1-D :class:`AdaptiveAvgPool2d` of ``(N, C, L)``."""

    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` (PyTorch's bins), as
    ``torch.nn.AdaptiveMaxPool2d``.

    Args:
        output_size (int or tuple). return_indices (bool): Default False.
    """

    _fn = staticmethod(F.adaptive_max_pool2d)

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x):
        return self._fn(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """1-D :class:`AdaptiveMaxPool2d` of ``(N, C, L)``."""

    _fn = staticmethod(F.adaptive_max_pool1d)


class GlobalAvgPool2d(Module):
    """Mean of each channel over ``H, W`` (Keras' ``GlobalAveragePooling2D``).

    Args:
        keepdim (bool): output ``(N, C, 1, 1)`` instead of ``(N, C)``. Default False.

    Shape:
        ``(N, C, H, W) -> (N, C)``.
    """

    _fn = staticmethod(F.global_avg_pool2d)

    def __init__(self, keepdim=False):
        super().__init__()
        self.keepdim = keepdim

    def extra_repr(self) -> str:
        return "keepdim=True" if self.keepdim else ""

    def forward(self, x):
        return self._fn(x, self.keepdim)


class GlobalMaxPool2d(GlobalAvgPool2d):
    """Max of each channel over ``H, W`` (Keras' ``GlobalMaxPooling2D``); the gradient goes
    to the first maximum. ``keepdim`` as :class:`GlobalAvgPool2d`."""

    _fn = staticmethod(F.global_max_pool2d)


class Upsample(Module):
    """Nearest-neighbour upsampling, as ``torch.nn.Upsample(mode='nearest')``.

    Args:
        size (int or tuple or None): output spatial size. Default None.
        scale_factor (float or tuple or None): size multiplier. Default None.
        mode (str): only ``'nearest'``. Default ``'nearest'``.
        align_corners: must be None. recompute_scale_factor (bool or None): Default None.

    Shape:
        ``(N, C, H, W) -> (N, C, floor(H * scale), floor(W * scale))`` (or ``size``).

    Example:
        >>> nn.Upsample(scale_factor=2)(lamina.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else scale_factor
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')``, as ``torch.nn.UpsamplingNearest2d``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")

"""Convolution layers with PyTorch's names, parameter layouts and default initialisation."""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..errors import check
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


def _tuple(v, n: int) -> tuple:
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n


class _ConvNd(Module):
    """Shared constructor, initialisation and ``extra_repr`` of the convolution layers."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", output_padding=0,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        check(in_channels > 0 and out_channels > 0, name, "positive in/out channels",
              f"in_channels={in_channels}, out_channels={out_channels}")
        check(in_channels % groups == 0 and out_channels % groups == 0, name,
              f"in_channels and out_channels divisible by groups ({groups})",
              f"in_channels={in_channels}, out_channels={out_channels}")
        check(padding_mode == "zeros", name, "padding_mode='zeros'", repr(padding_mode),
              "reflect/replicate/circular padding is not implemented")
        n = self._dims
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.output_padding = _tuple(output_padding, n)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        dtype = dtype or B.get_default_dtype()
        self.weight = Parameter(B.np.empty(shape, dtype))
        if bias:
            self.bias = Parameter(B.np.empty((out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=sqrt(5))`` for the weight, which is
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the same bound for the bias;
        ``fan_in = weight.shape[1] * prod(kernel_size)``."""
        w = self.weight
        fan_in = w.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        rng = B.rng()
        w.array = rng.uniform(-bound, bound, w.shape).astype(w.array.dtype)
        if self.bias is not None:
            b = self.bias
            b.array = rng.uniform(-bound, bound, b.shape).astype(b.array.dtype)

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer, as ``torch.nn.Conv2d``.

    Args:
        in_channels (int), out_channels (int): channel counts.
        kernel_size (int or tuple): window size.
        stride (int or tuple): Default 1.
        padding (int, tuple, 'same' or 'valid'): zero padding. Default 0.
        dilation (int or tuple): Default 1.
        groups (int): channel groups (``in_channels`` = depthwise). Default 1.
        bias (bool): learn an additive bias. Default True.
        padding_mode (str): only ``'zeros'``. Default ``'zeros'``.
        dtype: parameter dtype. Default: lamina's default dtype (float32).

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, OH, OW)``; ``weight`` is
        ``(C_out, C_in / groups, kH, kW)`` and ``bias`` ``(C_out,)``.

    Example:
        >>> conv = nn.Conv2d(1, 32, 5)
        >>> conv(lamina.randn(64, 1, 28, 28)).shape
        (64, 32, 24, 24)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer, as ``torch.nn.Conv1d`` (arguments as :class:`Conv2d`, ints).

    Shape:
        ``(N, C_in, L) -> (N, C_out, OL)``; ``weight`` is ``(C_out, C_in / groups, k)``.
    """

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None):
        check(not isinstance(padding, str), type(self).__name__, "an int or tuple padding",
              repr(padding))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype=dtype)

    def _output_padding(self, x, output_size):
        """The ``output_padding`` that makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        want = tuple(int(v) for v in tuple(output_size)[-n:])
        ins = tuple(x.shape[-n:])
        base = tuple((i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
                     zip(ins, self.stride, self.padding, self.dilation, self.kernel_size))
        op = tuple(w - b for w, b in zip(want, base))
        check(all(0 <= a < max(s, d) for a, s, d in zip(op, self.stride, self.dilation)),
              type(self).__name__, f"output_size between {base} and base + stride - 1",
              repr(want))
        return op


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int or tuple): kernel size.
        stride (int or tuple): Default 1.
        padding (int or tuple): Default 0.
        output_padding (int or tuple): extra size at the end of the output. Default 0.
        groups (int): Default 1. bias (bool): Default True. dilation (int or tuple): Default 1.
        padding_mode (str): only ``'zeros'``. dtype: Default lamina's default dtype.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, OH, OW)``,
        ``OH = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``;
        ``weight`` is ``(C_in, C_out / groups, kH, kW)``.

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        >>> up(lamina.randn(2, 16, 7, 7)).shape
        (2, 8, 14, 14)
    """

    def forward(self, x, output_size=None):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups,
                                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer, as ``torch.nn.ConvTranspose1d`` (arguments as
    :class:`ConvTranspose2d`, ints).

    Shape:
        ``(N, C_in, L) -> (N, C_out, OL)``; ``weight`` is ``(C_in, C_out / groups, k)``.
    """

    _dims = 1

    def forward(self, x, output_size=None):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups,
                                  self.dilation)

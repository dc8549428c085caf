"""Normalization layers (seed Q14/Q16): ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``.

BatchNorm keeps PyTorch's buffers (``running_mean``, ``running_var``, ``num_batches_tracked``)
and parameters (``weight``, ``bias``) so state dicts copy 1:1 between lamina and torch. In
training it normalizes with the batch statistics and updates the running ones; in eval mode it
uses the running statistics (a fixed affine map per channel).
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..errors import op_error
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm"]


class _BatchNorm(Module):
    """Shared code of BatchNorm1d/2d/3d; subclasses set ``_ndims`` and ``_layout``."""

    _ndims: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: expected num_features > 0, got "
                             f"{num_features}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = B.get_default_dtype() if dtype is None else B.np.dtype(dtype)
        np = B.np
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch count 0."""
        if self.track_running_stats:
            self._buffers["running_mean"][...] = 0
            self._buffers["running_var"][...] = 1
            self._buffers["num_batches_tracked"][...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics and set weight 1, bias 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
            self.bias.array[...] = 0

    def _check_input(self, x) -> None:
        shape = tuple(x.shape)
        if len(shape) not in self._ndims or shape[1] != self.num_features:
            raise op_error(f"{type(self).__name__}({self.num_features})",
                           f"input of shape {self._layout.replace('C', str(self.num_features))}",
                           f"{shape}")

    def forward(self, x):
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        bufs = self._buffers
        if self.training and self.track_running_stats:
            bufs["num_batches_tracked"] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(bufs["num_batches_tracked"])
        use_batch_stats = self.training or bufs["running_mean"] is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, bufs["running_mean"] if track else None,
                            bufs["running_var"] if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs (Ioffe & Szegedy, 2015).

    Args:
        num_features (int): C.
        eps (float): added to the variance. Default 1e-5.
        momentum (float | None): running-average factor; None for a cumulative average.
            Default 0.1.
        affine (bool): learn ``weight`` (init 1) and ``bias`` (init 0). Default True.
        track_running_stats (bool): keep running statistics for eval mode; when False, batch
            statistics are used in eval mode too. Default True.
        dtype: parameter and buffer dtype. Default: the default float dtype.

    Shape:
        (N, C) or (N, C, L) -> same.

    Example:
        >>> bn = nn.BatchNorm1d(64)
        >>> y = bn(lamina.randn(32, 64))
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, statistics per channel over N, H, W.

    Args: see :class:`BatchNorm1d`.

    Shape:
        (N, C, H, W) -> same.
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) inputs.

    Args: see :class:`BatchNorm1d`.

    Shape:
        (N, C, D, H, W) -> same.
    """

    _ndims = (5,)
    _layout = "(N, C, D, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` (Ba et al., 2016): per
    sample, independent of the batch, identical in train and eval.

    Args:
        normalized_shape (int | tuple): trailing shape to normalize.
        eps (float): added to the variance. Default 1e-5.
        elementwise_affine (bool): learn ``weight`` (1) and ``bias`` (0) of that shape.
            Default True.
        bias (bool): learn the bias too (when affine). Default True.
        dtype: parameter dtype. Default: the default float dtype.

    Shape:
        (*, *normalized_shape) -> same.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)
        self.normalized_shape, self.eps = ns, eps
        self.elementwise_affine = elementwise_affine
        dt = B.get_default_dtype() if dtype is None else B.np.dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(B.np.ones(ns, dtype=dt))
            if bias:
                self.bias = Parameter(B.np.zeros(ns, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        ns = self.normalized_shape
        if x.ndim < len(ns) or tuple(x.shape[x.ndim - len(ns):]) != ns:
            raise op_error(f"LayerNorm({ns})", f"input whose trailing dimensions are {ns}",
                           f"{tuple(x.shape)}")
        return F.layer_norm(x, ns, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalization (Wu & He, 2018): channels split into groups, each normalized per
    sample; batch-size independent.

    Args:
        num_groups (int): number of groups, dividing ``num_channels``.
        num_channels (int): C.
        eps (float): Default 1e-5.
        affine (bool): per-channel ``weight`` (1) and ``bias`` (0). Default True.
        dtype: parameter dtype. Default: the default float dtype.

    Shape:
        (N, C, *) -> same.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: expected num_channels divisible by num_groups, got "
                             f"num_channels={num_channels}, num_groups={num_groups}")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        dt = B.get_default_dtype() if dtype is None else B.np.dtype(dtype)
        if affine:
            self.weight = Parameter(B.np.ones(num_channels, dtype=dt))
            self.bias = Parameter(B.np.zeros(num_channels, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise op_error(f"GroupNorm({self.num_groups}, {self.num_channels})",
                           f"input of shape (N, {self.num_channels}, *)", f"{tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"

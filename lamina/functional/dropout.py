"""Dropout ops (seed Q21): inverted scaling, masks drawn from ``lamina.backend.rng()``.

In training each element (``dropout``) or each whole channel (``dropout1d/2d/3d``) is zeroed
with probability ``p`` and the survivors are scaled by ``1 / (1 - p)``, so the expected value of
every activation is unchanged and evaluation needs no rescaling. ``lamina.manual_seed`` fixes
the masks. With ``training=False`` or ``p == 0`` the input is returned unchanged.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._util import unwrap

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout",
           "alpha_dropout"]

# SELU's negative saturation value -lambda * alpha (Klambauer et al., 2017)
_ALPHA_PRIME = -1.7580993408473766


class MaskMul(Function):
    """``y = x * mask + shift``; the mask (already scaled) is a constant, or, with the
    attribute ``draw`` (``draw(x) -> (mask, shift)``), drawn inside forward, so a replayed
    schedule (``lamina.compile``) draws a fresh mask on every call as eager code does."""

    draw = None

    def forward(self, x, mask):
        if self.draw is not None:
            mask, self.shift = self.draw(x)
        self.saved = (mask,)
        y = x * mask
        return y if self.shift is None else y + self.shift

    def backward(self, gy):
        return gy * self.saved[0], None


def _keep_mask(shape, p, like):
    """Boolean keep-mask of ``shape`` (keep with probability 1 - p) on the device of ``like``."""
    dev = "cuda" if B.is_cupy_array(like) else "cpu"
    u = B.rng(dev).random(shape, dtype=B.np.float32)
    return u >= p


def _check_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise op_error(op, "a drop probability p in [0, 1]", f"p={p}")


def dropout(x, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        x (Tensor): any shape, floating dtype.
        p (float): drop probability in [0, 1]. Default 0.5.
        training (bool): apply dropout (True) or return ``x`` unchanged. Default True.
        inplace (bool): accepted for PyTorch compatibility; lamina never modifies ``x``.

    Returns:
        Tensor: same shape and dtype; ``p == 1`` gives zeros.

    Example:
        >>> h = F.dropout(h, 0.2, training=model.training)
    """
    _check_p("dropout", p)
    if not training or p == 0:
        return x
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)

    def draw(xa):
        return _keep_mask(xa.shape, p, xa).astype(xa.dtype) * xa.dtype.type(scale), None
    return MaskMul.apply(x, None, draw=draw)


def feature_dropout(x, p=0.5, training=True, spatial_dims=None, op="feature_dropout"):
    """Zero whole channels: the mask has shape (N, C, 1, ...) and is broadcast over the
    trailing dimensions. Used by :func:`dropout1d`, :func:`dropout2d`, :func:`dropout3d`."""
    _check_p(op, p)
    xa = unwrap(x)
    if spatial_dims is not None and xa.ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise op_error(op, f"input of shape (N, C, {spatial_dims} spatial dims) or unbatched "
                       f"(C, {spatial_dims} spatial dims)", f"{tuple(xa.shape)}")
    if not training or p == 0:
        return x
    batched = spatial_dims is None or xa.ndim == spatial_dims + 2
    lead = 2 if batched else 1
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)

    def draw(a):
        mshape = tuple(a.shape[:lead]) + (1,) * (a.ndim - lead)
        return _keep_mask(mshape, p, a).astype(a.dtype) * a.dtype.type(scale), None
    return MaskMul.apply(x, None, draw=draw)


def dropout1d(x, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, L) or (C, L) inputs (whole channels zeroed).

    Args:
        x (Tensor): (N, C, L) or (C, L).
        p (float): channel drop probability. Default 0.5.
        training (bool): Default True.

    Returns:
        Tensor: same shape; kept channels scaled by ``1 / (1 - p)``.
    """
    return feature_dropout(x, p, training, 1, "dropout1d")


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, H, W) inputs: each feature map is zeroed with
    probability ``p`` (neighbouring pixels are correlated, so element dropout would barely
    regularize a conv net).

    A 3-D input is read as PyTorch 2.13 reads it, as (N, C, L) (channel-wise 1-D dropout),
    with PyTorch's warning: use :func:`dropout1d` for that, or add the batch dim.

    Args:
        x (Tensor): (N, C, H, W); (N, C, L) as described.
        p (float): channel drop probability. Default 0.5.
        training (bool): Default True.

    Returns:
        Tensor: same shape; kept channels scaled by ``1 / (1 - p)``.
    """
    nd = unwrap(x).ndim
    if nd == 2:  # torch 2.13: (C, L) read as one unbatched sample: whole rows dropped
        import warnings
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release (as PyTorch 2.13); use "
                      "dropout1d for (C, L) input.", UserWarning, stacklevel=2)
        return feature_dropout(x, p, training, 1, "dropout2d")
    if nd == 3:
        import warnings
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim (as PyTorch 2.13). Use dropout1d for that, or "
                      "pass (N, C, H, W).", UserWarning, stacklevel=2)
        return feature_dropout(x, p, training, 1, "dropout2d")
    return feature_dropout(x, p, training, 2, "dropout2d")


def dropout3d(x, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, D, H, W) or (C, D, H, W) inputs.

    Args:
        x (Tensor): (N, C, D, H, W) or (C, D, H, W).
        p (float): channel drop probability. Default 0.5.
        training (bool): Default True.

    Returns:
        Tensor: same shape; kept channels scaled by ``1 / (1 - p)``.
    """
    return feature_dropout(x, p, training, 3, "dropout3d")


def alpha_dropout(x, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units are set to SELU's saturation value and an
    affine correction keeps mean 0 and variance 1 (Klambauer et al., 2017).

    Args:
        x (Tensor): any shape.
        p (float): drop probability. Default 0.5.
        training (bool): Default False (PyTorch's functional default).

    Returns:
        Tensor: same shape and dtype.
    """
    _check_p("alpha_dropout", p)
    if not training or p == 0:
        return x
    xa = unwrap(x)
    if p == 1:
        return Tensor(xa * 0)
    a = ((1.0 - p) * (1.0 + p * _ALPHA_PRIME ** 2)) ** -0.5
    b = -a * _ALPHA_PRIME * p

    def draw(z):
        keep = _keep_mask(z.shape, p, z)
        dt = z.dtype.type
        mask = keep.astype(z.dtype) * dt(a)
        return mask, (~keep).astype(z.dtype) * dt(a * _ALPHA_PRIME) + dt(b)
    return MaskMul.apply(x, None, draw=draw)

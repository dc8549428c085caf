"""Image augmentation for small images, applied to a whole batch at once.

Each augmentation draws one set of parameters per image, vectorized over the batch (no Python
loop over images). Random draws come from ``rng`` when given (a DataLoader passes a generator
seeded by its ``(seed, epoch)``) and otherwise from ``lamina.backend.rng()``, so
``lamina.manual_seed`` makes them reproducible. Inputs are (N, C, H, W) or (N, H, W) arrays (or
Tensors); outputs have the same shape. Pass them as ``DataLoader(..., transform=...)``.

Example:
    >>> aug = Compose([RandomShift(2), RandomRotation(10), GaussianNoise(0.05)])
    >>> loader = DataLoader(train_ds, batch_size=64, shuffle=True, transform=aug)
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check, op_error

__all__ = ["RandomShift", "RandomFlip", "RandomRotation", "GaussianNoise"]

np = B.np


def _images(x, op: str):
    """Host NCHW float array, plus how to give the result back."""
    was_tensor = isinstance(x, Tensor)
    a = B.to_host(x.array) if was_tensor else np.asarray(x)
    if a.ndim not in (3, 4):
        raise op_error(op, "images shaped (N, C, H, W) or (N, H, W)", f"shape {a.shape}",
                       "augmentations take a batch; for one image use x[None]")
    squeeze = a.ndim == 3
    if squeeze:
        a = a[:, None]
    if a.dtype.kind != "f":
        a = a.astype(B.get_default_dtype())
    return a, (squeeze, was_tensor)


def _restore(out, how):
    squeeze, was_tensor = how
    out = out[:, 0] if squeeze else out
    return Tensor(out) if was_tensor else out


class _Augmentation:
    """Base: ``aug(x, rng=None)``; stateless (empty ``state_dict``), nothing to fit."""

    accepts_rng = True
    fitted = True

    def __call__(self, x, rng=None):
        a, how = _images(x, type(self).__name__)
        return _restore(self._apply(a, B.rng() if rng is None else rng), how)

    def fit(self, X):
        return self

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict):
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _gather(padded, rows, cols):
    """``padded[n, :, rows[n, i, j], cols[n, i, j]]`` for every n -> (N, C, H, W)."""
    n = padded.shape[0]
    nhwc = padded.transpose(0, 2, 3, 1)
    out = nhwc[np.arange(n)[:, None, None], rows, cols]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


class RandomShift(_Augmentation):
    """Translate each image by a random whole number of pixels, filling with zeros.

    Args:
        max_shift (int): shifts are drawn uniformly from ``[-max_shift, max_shift]``, independently
            for rows and columns and for each image.

    Shape:
        (N, C, H, W) or (N, H, W) -> same. Content moved past the border is lost.
    """

    def __init__(self, max_shift: int):
        check(isinstance(max_shift, int) and max_shift >= 0, "RandomShift",
              "an integer max_shift >= 0", repr(max_shift))
        self.max_shift = max_shift

    def _apply(self, a, g):
        n, _, h, w = a.shape
        m = self.max_shift
        if m == 0:
            return a.copy()
        dy, dx = g.integers(-m, m + 1, size=(2, n))
        padded = np.pad(a, ((0, 0), (0, 0), (m, m), (m, m)))
        rows = (np.arange(h)[None, :] + m - dy[:, None])[:, :, None]  # out[i] = in[i - dy]
        cols = (np.arange(w)[None, :] + m - dx[:, None])[:, None, :]
        return _gather(padded, rows, cols)


class RandomFlip(_Augmentation):
    """Mirror each image with probability ``p``.

    Args:
        horizontal (bool): flip left-right (the W axis). Default True.
        vertical (bool): flip top-bottom (the H axis). Default False.
        p (float): probability per image (per axis). Default 0.5.
    """

    def __init__(self, horizontal: bool = True, vertical: bool = False, p: float = 0.5):
        check(0.0 <= p <= 1.0, "RandomFlip", "0 <= p <= 1", repr(p))
        self.horizontal, self.vertical, self.p = horizontal, vertical, p

    def _apply(self, a, g):
        out = a.copy()
        n = a.shape[0]
        for axis, on in ((3, self.horizontal), (2, self.vertical)):
            if on:
                mask = g.random(n) < self.p
                out[mask] = np.flip(out[mask], axis=axis)
        return out


class RandomRotation(_Augmentation):
    """Rotate each image by a random angle about its centre (bilinear, zero fill).

    Args:
        degrees (float): angles are drawn uniformly from ``[-degrees, degrees]``.

    Shape:
        (N, C, H, W) or (N, H, W) -> same, default float dtype.
    """

    def __init__(self, degrees: float):
        check(degrees >= 0, "RandomRotation", "degrees >= 0", repr(degrees))
        self.degrees = float(degrees)

    def _apply(self, a, g):
        n, _, h, w = a.shape
        dt = a.dtype
        theta = g.uniform(-self.degrees, self.degrees, n) * (math.pi / 180.0)
        cos, sin = np.cos(theta).astype(dt)[:, None, None], np.sin(theta).astype(dt)[:, None, None]
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        yy = (np.arange(h, dtype=dt) - cy)[None, :, None]
        xx = (np.arange(w, dtype=dt) - cx)[None, None, :]
        # inverse map: where in the input each output pixel comes from
        sy = cos * yy - sin * xx + cy
        sx = sin * yy + cos * xx + cx
        y0, x0 = np.floor(sy), np.floor(sx)
        wy, wx = (sy - y0)[:, None], (sx - x0)[:, None]
        # a one-pixel zero border; coordinates outside it are clamped onto the border
        padded = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
        r0 = np.clip(y0.astype(np.int64) + 1, 0, h + 1)
        r1 = np.clip(y0.astype(np.int64) + 2, 0, h + 1)
        c0 = np.clip(x0.astype(np.int64) + 1, 0, w + 1)
        c1 = np.clip(x0.astype(np.int64) + 2, 0, w + 1)
        top = _gather(padded, r0, c0) * (1 - wx) + _gather(padded, r0, c1) * wx
        bottom = _gather(padded, r1, c0) * (1 - wx) + _gather(padded, r1, c1) * wx
        return (top * (1 - wy) + bottom * wy).astype(dt, copy=False)


class GaussianNoise(_Augmentation):
    """Add ``N(0, std^2)`` noise to every value (works on any batch shape, not only images).

    Args:
        std (float): standard deviation of the noise.
        clip (tuple): optional ``(low, high)`` to clip the result to. Default None.
    """

    def __init__(self, std: float, clip=None):
        check(std >= 0, "GaussianNoise", "std >= 0", repr(std))
        self.std, self.clip = float(std), clip

    def __call__(self, x, rng=None):
        was_tensor = isinstance(x, Tensor)
        a = B.to_host(x.array) if was_tensor else np.asarray(x)
        if a.dtype.kind != "f":
            a = a.astype(B.get_default_dtype())
        g = B.rng() if rng is None else rng
        noise = g.standard_normal(a.shape, dtype=np.float64 if a.dtype == np.float64
                                  else np.float32).astype(a.dtype, copy=False)
        out = a + noise * self.std
        if self.clip is not None:
            out = np.clip(out, self.clip[0], self.clip[1])
        return Tensor(out) if was_tensor else out

"""Input-transformation defences (Guo et al. 2018, Xie et al. 2018) and their BPDA/EOT test.

Each transform maps raw image arrays ``(N, C, H, W)`` in ``[clip_min, clip_max]`` to arrays of
the same shape. :class:`Defended` puts one in front of a model; its backward pass is the
transform's true derivative (zero almost everywhere for quantizers: the gradient masking that
makes such defences look robust) or, with ``bpda=True``, the identity (Athalye et al.'s
backward-pass differentiable approximation), which with :class:`~lamina.robust.EOTPGD`'s
averaging over random passes is the adaptive attack that defeats them.
"""

from __future__ import annotations

import math

from ... import backend as B
from ... import functional as F
from ...autograd import Function, Tensor
from ...errors import check
from ...nn.module import Module

np = B.np

__all__ = ["BitDepthReduction", "JPEGQuantization", "GaussianNoise", "RandomResizePad",
           "MedianSmoothing", "Defended"]


class BitDepthReduction:
    """Quantize to ``bits`` bits per value: ``round(x * (2^b - 1)) / (2^b - 1)``.

    Args:
        bits (int): 1..8. Default 3.
    """

    differentiable = False

    def __init__(self, bits: int = 3):
        check(1 <= bits <= 16, "BitDepthReduction", "1 <= bits <= 16", f"bits={bits}")
        self.bits = int(bits)

    def __call__(self, x):
        levels = float(2 ** self.bits - 1)
        return (B.get_array_module(x).round(x * levels) / levels).astype(x.dtype)


def _dct_matrix(n, dtype):
    k = np.arange(n)[:, None]
    m = np.cos(math.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m.astype(dtype)


_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16,
                  24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109,
                  103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
                  72, 92, 95, 98, 112, 100, 103, 99]).reshape(8, 8)


class JPEGQuantization:
    """JPEG-like compression: 8x8 block DCT, division by the standard luminance table scaled
    for ``quality``, rounding, inverse DCT (no chroma subsampling or entropy coding).

    Args:
        quality (int): 1..100, JPEG's scale. Default 75.
    """

    differentiable = False

    def __init__(self, quality: int = 75):
        check(1 <= quality <= 100, "JPEGQuantization", "1 <= quality <= 100", f"{quality}")
        self.quality = int(quality)
        s = 5000 / quality if quality < 50 else 200 - 2 * quality
        self.table = np.maximum(np.floor((_LUMA * s + 50) / 100), 1) / 255.0

    def __call__(self, x):
        xp = B.get_array_module(x)
        n, c, h, w = x.shape
        ph, pw = -h % 8, -w % 8
        z = xp.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
        hb, wb = z.shape[2] // 8, z.shape[3] // 8
        blocks = z.reshape(n, c, hb, 8, wb, 8).transpose(0, 1, 2, 4, 3, 5)
        d = xp.asarray(_dct_matrix(8, x.dtype))
        coef = d @ (blocks - 0.5) @ d.T
        q = xp.asarray(self.table.astype(x.dtype))
        rec = d.T @ (xp.round(coef / q) * q) @ d + 0.5
        out = rec.transpose(0, 1, 2, 4, 3, 5).reshape(z.shape)[:, :, :h, :w]
        return xp.clip(out, 0.0, 1.0).astype(x.dtype)


class GaussianNoise:
    """Add ``N(0, sigma^2)`` noise (a fresh draw from ``lamina.backend.rng()`` every call).

    Args:
        sigma (float): standard deviation. Default 0.1.
        clip (tuple or None): clip the result to this range. Default (0, 1).
    """

    differentiable = True

    def __init__(self, sigma: float = 0.1, clip=(0.0, 1.0)):
        check(sigma >= 0, "GaussianNoise", "sigma >= 0", f"sigma={sigma}")
        self.sigma, self.clip = float(sigma), clip

    def __call__(self, x):
        noise = B.rng().standard_normal(x.shape).astype(x.dtype) * self.sigma
        out = x + B.get_array_module(x).asarray(noise)
        return out if self.clip is None else out.clip(*self.clip)


class RandomResizePad:
    """Xie et al.'s randomization at a fixed output size: nearest-neighbour resize to a random
    side in ``[ceil(min_scale * H), H]``, then zero-pad at a random offset back to ``H x W``.

    Args:
        min_scale (float): smallest relative size, in (0, 1]. Default 0.8.
    """

    differentiable = False

    def __init__(self, min_scale: float = 0.8):
        check(0 < min_scale <= 1, "RandomResizePad", "0 < min_scale <= 1", f"{min_scale}")
        self.min_scale = float(min_scale)

    def __call__(self, x):
        xp = B.get_array_module(x)
        rng = B.rng()
        n, c, h, w = x.shape
        sh = int(rng.integers(math.ceil(self.min_scale * h), h + 1))
        sw = max(1, round(sh * w / h))
        rows = (np.arange(sh) * h // sh)
        cols = (np.arange(sw) * w // sw)
        oy, ox = int(rng.integers(0, h - sh + 1)), int(rng.integers(0, w - min(sw, w) + 1))
        out = xp.zeros_like(x)
        out[:, :, oy:oy + sh, ox:ox + sw] = x[:, :, rows][:, :, :, cols][..., :w - ox]
        return out


class MedianSmoothing:
    """Median filter over ``k x k`` windows (edge-padded), the feature-squeezing smoother.

    Args:
        k (int): window side. Default 2.
    """

    differentiable = False

    def __init__(self, k: int = 2):
        check(k >= 1, "MedianSmoothing", "k >= 1", f"k={k}")
        self.k = int(k)

    def __call__(self, x):
        xp = B.get_array_module(x)
        k = self.k
        lo, hi = (k - 1) // 2, k // 2
        z = xp.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi)), mode="edge")
        win = np.lib.stride_tricks.sliding_window_view(z, (k, k), axis=(2, 3))
        return xp.median(win.reshape(*win.shape[:4], -1), axis=-1).astype(x.dtype)


class _Transform(Function):
    def forward(self, x):
        return self.fn(x)

    def backward(self, gy):
        return (gy if self.identity else gy * 0.0,)


class Defended(Module):
    """``model(transform(x))``, optionally averaged over ``n_samples`` random passes.

    Args:
        model (Module): the protected classifier.
        transform (callable or sequence): array -> array transforms above (applied in order).
        n_samples (int): randomized passes whose softmax is averaged; the output is the log
            of that mean (a log-probability, fine for ``argmax`` and cross-entropy). 1 returns
            the model's logits. Default 1.
        bpda (bool): backward as the identity through the transforms (the adaptive attack's
            view). Default False (true derivative: zero through quantizers).

    Shape:
        ``(N, C, H, W) -> (N, classes)``.

    Example:
        >>> robust = Defended(model, [RandomResizePad(0.8), BitDepthReduction(3)], n_samples=4)
    """

    def __init__(self, model, transform, n_samples: int = 1, bpda: bool = False):
        super().__init__()
        self.model = model
        self.transforms = list(transform) if isinstance(transform, (list, tuple)) else [
            transform]
        check(n_samples >= 1, "Defended", "n_samples >= 1", f"{n_samples}")
        self.n_samples, self.bpda = int(n_samples), bool(bpda)

    def _apply(self, x):
        for t in self.transforms:
            ident = self.bpda or getattr(t, "differentiable", False)
            x = _Transform.apply(x, fn=t, identity=ident)
        return x

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if self.n_samples == 1:
            return self.model(self._apply(x))
        probs = [F.softmax(self.model(self._apply(x)), axis=1) for _ in range(self.n_samples)]
        mean = probs[0]
        for p in probs[1:]:
            mean = mean + p
        return (mean / float(self.n_samples) + 1e-12).log()

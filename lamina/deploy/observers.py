"""Range observers and the int8 quantize/dequantize maths (``torch.ao.quantization``'s names).

An observer watches the arrays that flow through one point of a model during calibration and
turns what it saw into a ``(scale, zero_point)``: affine per tensor for activations
(``q = clip(round(x / scale) + zero_point, -128, 127)``), symmetric per output channel for
weights (``zero_point = 0``, ``scale = max|w| / 127``).
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check

np = B.np

__all__ = ["QMIN", "QMAX", "quantize", "dequantize", "affine_qparams", "symmetric_qparams",
           "MinMaxObserver", "MovingAverageMinMaxObserver", "PercentileObserver",
           "HistogramObserver", "get_observer"]

QMIN, QMAX = -128, 127


def quantize(x, scale, zero_point, axis=None):
    """int8 codes of ``x``: ``clip(round(x / scale) + zero_point, -128, 127)`` (round half to
    even, as ONNX ``QuantizeLinear``).

    Args:
        x (array): float values. scale, zero_point (float or 1-D array): per tensor, or per
            slice along ``axis``. axis (int, optional): the channel axis. Default None.

    Returns:
        int8 array of ``x``'s shape.
    """
    s, z = _bcast(scale, x, axis), _bcast(zero_point, x, axis)
    return np.clip(np.rint(x / s) + z, QMIN, QMAX).astype(np.int8)


def dequantize(q, scale, zero_point, axis=None):
    """float32 values ``(q - zero_point) * scale`` (ONNX ``DequantizeLinear``)."""
    s, z = _bcast(scale, q, axis), _bcast(zero_point, q, axis)
    return ((q.astype(np.int32) - z) * s).astype(np.float32)


def _bcast(v, x, axis):
    v = np.asarray(v)
    if axis is None or v.ndim == 0:
        return v.astype(np.float32) if v.dtype.kind == "f" else v.astype(np.int32)
    shape = [1] * x.ndim
    shape[axis] = -1
    v = v.reshape(shape)
    return v.astype(np.float32) if v.dtype.kind == "f" else v.astype(np.int32)


def affine_qparams(lo: float, hi: float):
    """``(scale, zero_point)`` mapping ``[lo, hi]`` (widened to hold 0) onto [-128, 127]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / (QMAX - QMIN), 1e-8)
    zp = int(np.clip(round(QMIN - lo / scale), QMIN, QMAX))
    return np.float32(scale), np.int8(zp)


def symmetric_qparams(w, axis: int = 0, qmax: int = QMAX):
    """Per-channel symmetric scales of a weight (``max|w| / qmax`` per slice along ``axis``,
    ``qmax`` 127, or 63 for ONNX Runtime's ``reduce_range``) and zero points (all 0)."""
    red = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.abs(w).max(axis=red) if red else np.abs(w)
    scale = np.maximum(amax / qmax, 1e-8).astype(np.float32)
    return scale, np.zeros(scale.shape, np.int8)


class MinMaxObserver:
    """The smallest and largest value seen (PyTorch's ``MinMaxObserver``)."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def observe(self, x) -> None:
        """Record one batch (any shape)."""
        if x.size:
            self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))

    def range(self):
        check(np.isfinite(self.lo), type(self).__name__, "at least one observed batch",
              "none (run calibration data through the model first)")
        return self.lo, self.hi

    def qparams(self):
        """``(scale, zero_point)`` of the observed range."""
        return affine_qparams(*self.range())


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving average of each batch's min and max (QAT's default).

    Args:
        momentum (float): weight of the newest batch. Default 0.01 (PyTorch's
            ``averaging_constant``).
    """

    def __init__(self, momentum: float = 0.01):
        super().__init__()
        self.momentum = float(momentum)

    def observe(self, x) -> None:
        if not x.size:
            return
        lo, hi = float(x.min()), float(x.max())
        if not np.isfinite(self.lo):
            self.lo, self.hi = lo, hi
        else:
            m = self.momentum
            self.lo, self.hi = self.lo + m * (lo - self.lo), self.hi + m * (hi - self.hi)


class PercentileObserver(MinMaxObserver):
    """The ``percentile`` and ``100 - percentile`` quantiles of all values seen (outliers
    clipped).

    Args:
        percentile (float): upper quantile in percent. Default 99.99.
        max_samples (int): values kept per batch (a random subset). Default 100000.
    """

    def __init__(self, percentile: float = 99.99, max_samples: int = 100_000):
        super().__init__()
        self.percentile, self.max_samples, self.samples = float(percentile), max_samples, []

    def observe(self, x) -> None:
        v = x.reshape(-1)
        if v.size > self.max_samples:
            v = v[B.rng().choice(v.size, self.max_samples, replace=False)]
        self.samples.append(np.asarray(v, np.float32))
        super().observe(x)

    def range(self):
        super().range()
        v = np.concatenate(self.samples)
        return (float(np.percentile(v, 100 - self.percentile)),
                float(np.percentile(v, self.percentile)))


class HistogramObserver(MinMaxObserver):
    """A histogram of values; the range minimises the KL divergence between the clipped
    distribution and its 256-level quantized version (TensorRT's entropy calibration).

    Args:
        bins (int): histogram bins over the observed range. Default 1024.
    """

    def __init__(self, bins: int = 1024):
        super().__init__()
        self.bins, self.values = int(bins), []

    def observe(self, x) -> None:
        self.values.append(np.asarray(x, np.float32).reshape(-1))
        super().observe(x)

    def range(self):
        lo, hi = super().range()
        v = np.concatenate(self.values)
        edge = max(abs(lo), abs(hi), 1e-8)
        hist, edges = np.histogram(np.abs(v), bins=self.bins, range=(0.0, edge))
        best, best_kl = self.bins, np.inf
        for stop in range(128, self.bins + 1, 32):
            p = hist[:stop].astype(np.float64).copy()
            p[-1] += hist[stop:].sum()           # clipped mass goes into the last bin
            if p.sum() == 0:
                continue
            chunks = np.array_split(p, 128)
            q = np.concatenate([np.where(c > 0, c.sum() / max((c > 0).sum(), 1), 0.0)
                                for c in chunks])
            p, q = p / p.sum(), q / max(q.sum(), 1e-12)
            m = p > 0
            kl = float(np.sum(p[m] * np.log(p[m] / np.maximum(q[m], 1e-12))))
            if kl < best_kl:
                best, best_kl = stop, kl
        t = float(edges[best])
        return max(lo, -t), min(hi, t)


_OBSERVERS = {"minmax": MinMaxObserver, "moving_average": MovingAverageMinMaxObserver,
              "percentile": PercentileObserver, "histogram": HistogramObserver,
              "entropy": HistogramObserver}


def get_observer(name_or_cls="minmax"):
    """A fresh observer from a name (``minmax``, ``moving_average``, ``percentile``,
    ``histogram``/``entropy``), a class or a factory."""
    if isinstance(name_or_cls, str):
        check(name_or_cls in _OBSERVERS, "get_observer", f"one of {sorted(_OBSERVERS)}",
              repr(name_or_cls), cls=ValueError)
        return _OBSERVERS[name_or_cls]()
    return name_or_cls()

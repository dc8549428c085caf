"""Feature transforms fitted on training data only (seed Q14), plus ``Compose``.

Every transform has ``fit(X)``, ``transform(X)`` (also ``t(X)``), ``fit_transform(X)``,
``inverse_transform(X)`` where it makes sense, and ``state_dict()``/``load_state_dict()`` with
plain arrays and numbers, so a fitted transform is saved with the model. Calling ``transform``
before ``fit`` raises :class:`NotFittedError`. Inputs may be arrays or Tensors (a Tensor in gives a
Tensor out). The image augmentations (:mod:`lamina.data.augment`) are re-exported here.

Example:
    >>> scaler = Standardize().fit(x_train)           # statistics of the training split only
    >>> x_train, x_test = scaler(x_train), scaler(x_test)
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check, op_error
from .augment import GaussianNoise, RandomFlip, RandomRotation, RandomShift

__all__ = ["Transform", "NotFittedError", "Standardize", "MinMaxScale", "OneHot", "Compose",
           "RandomShift", "RandomFlip", "RandomRotation", "GaussianNoise"]

np = B.np


class NotFittedError(RuntimeError):
    """A transform was used before ``fit``."""


def _unwrap(X):
    if isinstance(X, Tensor):
        return B.to_host(X.array), True
    return np.asarray(X), False


def _as_float(a):
    dt = B.get_default_dtype()
    return a if a.dtype == dt else a.astype(dt)


class Transform:
    """Base class. Subclasses set ``_state`` (attribute names saved by ``state_dict``) and
    implement ``_fit`` / ``_transform`` (/ ``_inverse``) on host arrays."""

    _state: tuple = ()

    def fit(self, X) -> "Transform":
        """Learn the statistics of ``X`` (training data only); returns self."""
        self._fit(_unwrap(X)[0])
        return self

    def transform(self, X):
        """Apply the fitted transform to ``X``."""
        self._check_fitted("transform")
        a, was_tensor = _unwrap(X)
        out = self._transform(a)
        return Tensor(out) if was_tensor else out

    def __call__(self, X):
        return self.transform(X)

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        """Undo :meth:`transform` (for predictions back in original units)."""
        self._check_fitted("inverse_transform")
        a, was_tensor = _unwrap(X)
        out = self._inverse(a)
        return Tensor(out) if was_tensor else out

    def _inverse(self, a):
        raise NotImplementedError(f"{type(self).__name__}: has no inverse_transform")

    @property
    def fitted(self) -> bool:
        return all(getattr(self, k, None) is not None for k in self._state)

    def _check_fitted(self, method: str) -> None:
        if not self.fitted:
            name = type(self).__name__
            raise NotFittedError(
                f"{name}.{method}: expected a fitted {name}, got one that was never fitted; "
                f"call fit(x_train) first (on the training split only), then transform train, "
                f"validation and test data with the same statistics")

    def state_dict(self) -> dict:
        """Fitted statistics as plain arrays / numbers (copies)."""
        self._check_fitted("state_dict")
        out = {}
        for k in self._state:
            v = getattr(self, k)
            out[k] = v.copy() if isinstance(v, B.ndarray_types) else v
        return out

    def load_state_dict(self, state: dict) -> "Transform":
        """Restore statistics saved by :meth:`state_dict`; returns self."""
        missing = [k for k in self._state if k not in state]
        if missing:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                           f"got {sorted(state)}")
        for k in self._state:
            v = state[k]
            setattr(self, k, _as_float(np.asarray(v)) if isinstance(v, (list, *B.ndarray_types))
                    else v)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fitted={self.fitted})"


def _fit_axes(axis, a, op: str) -> tuple:
    check(a.ndim >= 1 and len(a) > 0, f"{op}.fit", "a non-empty array with a sample axis",
          f"shape {a.shape}")
    axes = tuple(ax % a.ndim for ax in ((axis,) if isinstance(axis, int) else axis))
    check(0 in axes, f"{op}.fit", "axis to include 0 (statistics across samples)", str(axis))
    return axes


def _check_shape(a, stat, op: str) -> None:
    ok = a.ndim == stat.ndim + 1 and all(m in (1, s) for m, s in zip(stat.shape, a.shape[1:]))
    check(ok, op, f"samples shaped like the fitted statistics {stat.shape}", f"X {a.shape}")


class Standardize(Transform):
    """Z-score: ``(X - mean) / std`` with statistics of the training data (seed Q14).

    Args:
        axis (int or tuple): axes reduced when fitting. Default 0 (one mean/std per feature);
            ``(0, 2, 3)`` gives per-channel statistics for (N, C, H, W) images.
        eps (float): std below this counts as constant; such features get std 1. Default 1e-8.

    Shape:
        X: (N, *) -> same shape, default float dtype.
    """

    _state = ("mean", "std")

    def __init__(self, axis=0, eps: float = 1e-8):
        self.axis, self.eps = axis, eps
        self.mean = self.std = None

    def _fit(self, a):
        axes = _fit_axes(self.axis, a, "Standardize")
        mean = a.mean(axis=axes, keepdims=True, dtype=np.float64)  # accumulate in float64
        std = a.std(axis=axes, keepdims=True, dtype=np.float64)
        std[std < self.eps] = 1.0
        self.mean, self.std = _as_float(mean[0]), _as_float(std[0])

    def _transform(self, a):
        _check_shape(a, self.mean, "Standardize.transform")
        return (_as_float(a) - self.mean) / self.std

    def _inverse(self, a):
        return _as_float(a) * self.std + self.mean


class MinMaxScale(Transform):
    """Rescale each feature linearly so the training data spans ``feature_range``.

    Args:
        feature_range (tuple): ``(low, high)`` of the output. Default (0, 1).
        axis (int or tuple): axes reduced when fitting. Default 0 (per feature).

    Shape:
        X: (N, *) -> same shape, default float dtype. Constant features map to ``low``.
    """

    _state = ("data_min", "data_max", "feature_range")

    def __init__(self, feature_range=(0.0, 1.0), axis=0):
        lo, hi = feature_range
        check(hi > lo, "MinMaxScale", "feature_range (low, high) with low < high",
              str(feature_range))
        self.feature_range, self.axis = [float(lo), float(hi)], axis
        self.data_min = self.data_max = None

    def _fit(self, a):
        axes = _fit_axes(self.axis, a, "MinMaxScale")
        self.data_min = _as_float(a.min(axis=axes, keepdims=True)[0])
        self.data_max = _as_float(a.max(axis=axes, keepdims=True)[0])

    def _scale(self):
        lo, hi = self.feature_range
        span = self.data_max - self.data_min
        return (hi - lo) / np.where(span > 0, span, 1).astype(span.dtype)

    def _transform(self, a):
        _check_shape(a, self.data_min, "MinMaxScale.transform")
        return (_as_float(a) - self.data_min) * self._scale() + self.feature_range[0]

    def _inverse(self, a):
        return (_as_float(a) - self.feature_range[0]) / self._scale() + self.data_min

    def load_state_dict(self, state: dict) -> "MinMaxScale":
        super().load_state_dict(state)
        self.feature_range = [float(v) for v in self.feature_range]
        return self


class OneHot(Transform):
    """Integer class labels -> one-hot rows in the default float dtype.

    Args:
        num_classes (int): number of classes; None learns ``max(label) + 1`` in ``fit``.

    Shape:
        y: (*) integers in ``[0, num_classes)`` -> (*, num_classes). ``inverse_transform``
        takes the argmax of the last axis (int64).
    """

    _state = ("num_classes",)

    def __init__(self, num_classes: int | None = None):
        self.num_classes = None if num_classes is None else int(num_classes)

    def _fit(self, a):
        check(a.dtype.kind in "iu", "OneHot.fit", "integer class labels", f"dtype {a.dtype}",
              cls=TypeError)
        self.num_classes = int(a.max()) + 1 if a.size else 0

    def _transform(self, a):
        if a.dtype.kind not in "iu":
            raise op_error("OneHot", "integer class labels", f"dtype {a.dtype}", cls=TypeError)
        k = self.num_classes
        if a.size and (a.min() < 0 or a.max() >= k):
            raise op_error("OneHot", f"labels in [0, {k}) (num_classes={k})",
                           f"values in [{a.min()}, {a.max()}]")
        return np.eye(k, dtype=B.get_default_dtype())[a]

    def _inverse(self, a):
        return a.argmax(axis=-1).astype(np.int64)

    def load_state_dict(self, state: dict) -> "OneHot":
        self.num_classes = int(np.asarray(state["num_classes"]))
        return self


class Compose(Transform):
    """Apply transforms in order; ``fit`` fits each on the output of the previous ones.

    Args:
        transforms (list): transforms or plain callables. Random augmentations receive the
            loader's generator (``rng``) when called by a DataLoader.

    ``state_dict()`` is flat: ``{"0.mean": ..., "0.std": ..., "2.num_classes": ...}``.
    """

    accepts_rng = True

    def __init__(self, transforms):
        self.transforms = list(transforms)

    @property
    def fitted(self) -> bool:
        return all(getattr(t, "fitted", True) for t in self.transforms)

    def fit(self, X) -> "Compose":
        for i, t in enumerate(self.transforms):
            if hasattr(t, "fit") and not getattr(t, "accepts_rng", False):
                t.fit(X)
            if i < len(self.transforms) - 1:
                X = t(X)
        return self

    def __call__(self, X, rng=None):
        for t in self.transforms:
            X = t(X, rng=rng) if getattr(t, "accepts_rng", False) else t(X)
        return X

    def transform(self, X):
        return self(X)

    def inverse_transform(self, X):
        for t in reversed(self.transforms):
            if isinstance(t, Transform):
                X = t.inverse_transform(X)
        return X

    def state_dict(self) -> dict:
        out = {}
        for i, t in enumerate(self.transforms):
            if hasattr(t, "state_dict"):
                out.update({f"{i}.{k}": v for k, v in t.state_dict().items()})
        return out

    def load_state_dict(self, state: dict) -> "Compose":
        for i, t in enumerate(self.transforms):
            sub = {k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == str(i)}
            if hasattr(t, "load_state_dict") and (sub or getattr(t, "_state", ())):
                t.load_state_dict(sub)
        return self

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"

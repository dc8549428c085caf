"""Shared conversions: Tensors/lists to host arrays, scores to labels or probabilities."""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor

np = B.np

__all__ = ["as_array", "to_labels", "to_proba", "class_labels", "pair"]


def as_array(x):
    """``x`` (Tensor, NumPy/CuPy array, list or scalar) as a host NumPy array."""
    if isinstance(x, Tensor):
        x = x.array
    return B.to_host(x)


def _is_proba(a) -> bool:
    return a.size == 0 or (float(a.min()) >= 0.0 and float(a.max()) <= 1.0)


def to_proba(scores):
    """Model outputs as probabilities.

    2-D outputs with several columns whose rows are not already probability vectors get a
    softmax; 1-D (or one-column) outputs outside [0, 1] get a sigmoid (they are logits).

    Args:
        scores: ``(N,)``, ``(N, 1)`` or ``(N, C)`` logits or probabilities.

    Returns:
        array: ``(N,)`` probability of the positive class, or ``(N, C)`` rows summing to 1.
    """
    a = as_array(scores)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 2:
        if _is_proba(a) and np.allclose(a.sum(axis=1), 1.0, atol=1e-3):
            return a
        z = a - a.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    if _is_proba(a):
        return a
    return 1.0 / (1.0 + np.exp(-a))


def to_labels(y, threshold: float = 0.5):
    """Class labels from labels, one-hot rows, scores or probabilities.

    ``(N, C)`` with ``C > 1`` -> argmax; integer or integer-valued ``(N,)`` -> as is; other
    floating ``(N,)``/``(N, 1)`` -> probabilities (logits go through a sigmoid) thresholded at
    ``threshold``.

    Args:
        y: labels ``(N,)``, scores ``(N, C)`` or binary scores ``(N,)``/``(N, 1)``.
        threshold (float): decision threshold on binary probabilities. Default 0.5.

    Returns:
        array ``(N,)`` of labels.
    """
    a = as_array(y)
    if a.ndim == 2 and a.shape[1] > 1:
        return a.argmax(axis=1)
    a = a.reshape(-1) if a.ndim == 2 else a
    if a.dtype.kind in "iub" or a.size == 0:
        return a
    if np.all(a == np.round(a)):  # float labels such as 0., 1., 2.
        return a.astype(np.int64)
    return (to_proba(a) >= threshold).astype(np.int64)


def class_labels(*arrays, labels=None):
    """Sorted label set: ``labels`` when given, else the union of the arrays' values."""
    if labels is not None:
        return np.asarray(labels)
    return np.unique(np.concatenate([np.asarray(a).reshape(-1) for a in arrays]))


def pair(op: str, y_true, y_pred):
    """Host arrays of ``y_true`` and ``y_pred`` with the same number of samples."""
    from ..errors import check
    t, p = as_array(y_true), as_array(y_pred)
    check(t.shape[:1] == p.shape[:1], op, "y_true and y_pred with the same number of samples",
          f"y_true {t.shape} and y_pred {p.shape}")
    return t, p

"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``randn``... (PyTorch's names and defaults).

Floating results take the default dtype (float32) unless ``dtype`` says otherwise; random
factories draw from the seeded generator of :mod:`lamina.backend`.
"""

from __future__ import annotations

from .. import backend as B
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like",
           "ones_like", "full_like", "rand_like", "randn_like", "normal", "uniform"]

np = B.np


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else B.get_default_dtype()
    return np.dtype(dtype)


def _finish(arr, device, requires_grad) -> Tensor:
    if device is not None and str(device).split(":")[0] == "cuda":
        arr = B.to_device_array(arr, "cuda")
    return Tensor(arr, requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` (nested lists, scalars, arrays, tensors) into a new leaf tensor.

    Python floats become the default dtype (float32); integers int64; bools bool. A NumPy array
    keeps its dtype unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, np.generic):  # np.float64(1.0) keeps float64, as in torch
        data = np.asarray(data)
    if isinstance(data, B.ndarray_types):
        arr = data.astype(dtype) if dtype is not None else data.copy()
    else:
        arr = np.array(data)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(B.get_default_dtype())
    return _finish(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with an array when no conversion is needed."""
    if isinstance(data, Tensor) and dtype is None:
        return data
    if isinstance(data, B.ndarray_types):
        return _finish(data if dtype is None else data.astype(dtype, copy=False), device, False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a) -> Tensor:
    """Wrap a NumPy array without copying (changes to one show in the other)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return Tensor(a)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Tensor of zeros, shape ``size`` (ints or one tuple)."""
    return _finish(np.zeros(_shape(size), _dtype(dtype)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Tensor of ones, shape ``size``."""
    return _finish(np.ones(_shape(size), _dtype(dtype)), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uninitialised tensor (zeros here, for determinism)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Tensor of shape ``size`` filled with ``fill_value``."""
    default = None
    if dtype is None and isinstance(fill_value, bool):
        default = np.dtype(bool)
    elif dtype is None and isinstance(fill_value, int):
        default = np.dtype(np.int64)
    size = (size,) if isinstance(size, int) else tuple(size)
    return _finish(np.full(size, fill_value, _dtype(dtype, default)), device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, int) for v in (start, end, step))
    default = np.dtype(np.int64) if ints else None
    return _finish(np.arange(start, end, step, dtype=_dtype(dtype, default)), device,
                   requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dt = _dtype(dtype)
    if dt is not None and dt.kind == "b":
        raise TypeError("linspace: expected a numeric dtype, got dtype=bool (as in PyTorch)")
    if dt is not None and dt.kind in "iu":  # torch computes in float and truncates toward 0
        arr = np.trunc(np.linspace(start, end, steps, dtype=np.float64)).astype(dt)
        return _finish(arr, device, requires_grad)
    return _finish(np.linspace(start, end, steps, dtype=dt), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Identity matrix of shape ``(n, m or n)``."""
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) samples from the seeded generator."""
    a = B.rng().random(_shape(size)).astype(_dtype(dtype))
    return _finish(a, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples from the seeded generator."""
    a = B.rng().standard_normal(_shape(size)).astype(_dtype(dtype))
    return _finish(a, device, requires_grad)


def normal(mean=0.0, std=1.0, size=(1,), dtype=None, device=None) -> Tensor:
    """Normal samples with the given mean and std."""
    a = B.rng().normal(mean, std, size).astype(_dtype(dtype))
    return _finish(a, device, False)


def uniform(low=0.0, high=1.0, size=(1,), dtype=None, device=None) -> Tensor:
    """Uniform samples in [low, high)."""
    a = B.rng().uniform(low, high, size).astype(_dtype(dtype))
    return _finish(a, device, False)


def randint(low, high=None, size=(1,), dtype=None, device=None) -> Tensor:
    """Integers in [low, high) (int64), PyTorch's argument order."""
    if high is None:
        low, high = 0, low
    a = B.rng().integers(low, high, size=tuple(size)).astype(_dtype(dtype, np.dtype(np.int64)))
    return _finish(a, device, False)


def randperm(n, device=None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    return _finish(B.rng().permutation(n).astype(np.int64), device, False)


def _like(x, dtype):
    return (x.dtype if dtype is None else np.dtype(dtype)), x.shape


def zeros_like(x, dtype=None, requires_grad=False) -> Tensor:
    """Zeros with the shape (and dtype, device) of ``x``."""
    xp = B.get_array_module(x.array)
    d, s = _like(x, dtype)
    return Tensor(xp.zeros(s, d), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False) -> Tensor:
    """Ones with the shape (and dtype, device) of ``x``."""
    xp = B.get_array_module(x.array)
    d, s = _like(x, dtype)
    return Tensor(xp.ones(s, d), requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """``fill_value`` everywhere, shape and dtype of ``x``."""
    xp = B.get_array_module(x.array)
    d, s = _like(x, dtype)
    return Tensor(xp.full(s, fill_value, d), requires_grad=requires_grad)


def rand_like(x, dtype=None) -> Tensor:
    """Uniform [0, 1) samples shaped like ``x``."""
    d, s = _like(x, dtype)
    return rand(*s, dtype=d, device="cuda" if x.is_cuda else None)


def randn_like(x, dtype=None) -> Tensor:
    """Standard normal samples shaped like ``x``."""
    d, s = _like(x, dtype)
    return randn(*s, dtype=d, device="cuda" if x.is_cuda else None)

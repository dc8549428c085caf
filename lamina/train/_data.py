"""What ``Trainer`` accepts as data: a DataLoader, a Dataset, ``(X, y)`` arrays or ``X``."""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor

__all__ = ["as_loader", "is_loader"]


def is_loader(data) -> bool:
    """Iterable of batches with a length and no indexing (a DataLoader or alike)."""
    from ..data import DataLoader
    return isinstance(data, DataLoader) or (
        hasattr(data, "__iter__") and hasattr(data, "__len__")
        and not hasattr(data, "__getitem__"))


def _is_array(a) -> bool:
    return isinstance(a, (Tensor, *B.ndarray_types))


def as_loader(data, batch_size, shuffle: bool, op: str, default_batch_size=None):
    """A loader for ``data``.

    Args:
        data: a DataLoader (used as is), a Dataset, an ``(X, y)`` tuple of arrays/Tensors, or
            an array ``X`` alone (prediction).
        batch_size (int or None): required for tuples and arrays unless
            ``default_batch_size`` is given; datasets default to 32.
        shuffle (bool): shuffle each epoch (training).
        op (str): the calling method, for error messages.
        default_batch_size (int, optional): used when ``batch_size`` is None.
    """
    from ..data import ArrayDataset, DataLoader
    if is_loader(data):
        return data
    bs = batch_size or default_batch_size
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(map(_is_array, data)):
        if bs is None:
            raise ValueError(f"{op}: expected batch_size=... when the data is an (X, y) tuple "
                             "of arrays, got None")
        x, y = (B.to_host(a.data) if isinstance(a, Tensor) else a for a in data)
        dataset = ArrayDataset(x, y)
    elif _is_array(data):
        if bs is None:
            raise ValueError(f"{op}: expected batch_size=... when the data is an array, got None")
        dataset = ArrayDataset(B.to_host(data.data) if isinstance(data, Tensor) else data)
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        dataset, bs = data, bs or 32
    else:
        raise TypeError(f"{op}: expected a DataLoader, a Dataset or an (X, y) tuple of arrays, "
                        f"got {type(data).__name__}")
    return DataLoader(dataset, batch_size=int(bs), shuffle=shuffle)

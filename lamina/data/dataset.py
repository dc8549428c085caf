"""Datasets: the ``Dataset`` protocol and the array-backed datasets the loader batches with one
fancy-index per batch (``ArrayDataset``, ``TensorDataset``, ``MemmapDataset`` and ``Subset`` /
``ConcatDataset`` of those), plus ``random_split``.

Array-backed datasets implement ``get_batch(indices) -> array or tuple of arrays`` and report
``supports_batch = True``; :class:`~lamina.data.DataLoader` then skips per-sample ``__getitem__``.
A subclass that overrides ``__getitem__`` to change samples must override ``get_batch`` too.
"""

from __future__ import annotations

import bisect

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check, op_error

__all__ = ["Dataset", "ArrayDataset", "TensorDataset", "MemmapDataset", "Subset",
           "ConcatDataset", "random_split", "supports_batch", "labels_of"]

np = B.np


def supports_batch(dataset) -> bool:
    """True when ``dataset`` can fetch a whole batch with ``get_batch(indices)``."""
    return bool(getattr(dataset, "supports_batch", False)) and hasattr(dataset, "get_batch")


def _index_array(indices, n: int, op: str):
    if isinstance(indices, slice):
        return np.arange(n, dtype=np.int64)[indices]
    idx = np.asarray(indices)
    if idx.dtype.kind == "b":
        check(idx.shape == (n,), op, f"a boolean mask of shape ({n},)", f"shape {idx.shape}")
        return np.flatnonzero(idx)
    if idx.size == 0:
        return idx.astype(np.int64).reshape(-1)
    check(idx.dtype.kind in "iu", op, "integer indices", f"dtype {idx.dtype}", cls=TypeError)
    idx = idx.astype(np.int64, copy=False)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"{op}: expected indices in [-{n}, {n}), got values in "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


def _cast_float(a):
    """Floating arrays take the default dtype; everything else is left alone."""
    dt = B.get_default_dtype()
    return a.astype(dt) if a.dtype.kind == "f" and a.dtype != dt else a


def _cast_labels(y, op: str):
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        return y.astype(np.int64, copy=False)
    if y.dtype.kind == "f":
        return _cast_float(y)
    raise op_error(op, "numeric labels (int for classes, float for regression)",
                   f"dtype {y.dtype}", "encode string labels as integer class codes first",
                   cls=TypeError)


class Dataset:
    """Base class of map-style datasets: ``len(ds)`` samples, ``ds[i]`` one sample.

    Any object with ``__len__`` and ``__getitem__`` works with :class:`DataLoader`; subclassing
    only adds ``ds1 + ds2`` (a :class:`ConcatDataset`).
    """

    supports_batch = False

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other) -> "ConcatDataset":
        return ConcatDataset([self, other])


class ArrayDataset(Dataset):
    """Features (and optional labels) held as NumPy arrays, batched with one fancy-index.

    Args:
        X: array-like (or Tensor), first axis = samples. Floating data is cast once to the
            default dtype (float32); integer data (e.g. token ids) is kept.
        y: labels, same length, or None. Integers become int64 (classes), floats the default
            dtype (regression). Default None.
        transform: callable applied to the feature batch (``transform(X[idx])``) on every fetch,
            e.g. a fitted :class:`~lamina.data.transforms.Standardize`. Default None.

    Returns (``ds[i]``): ``(x_i, y_i)`` arrays, or ``x_i`` alone when ``y`` is None.

    Example:
        >>> ds = ArrayDataset(np.zeros((10, 3)), np.arange(10) % 2)
        >>> ds[0][0].dtype, len(ds)
        (dtype('float32'), 10)
    """

    supports_batch = True

    def __init__(self, X, y=None, transform=None):
        self.X = _cast_float(np.asarray(X.numpy() if isinstance(X, Tensor) else X))
        check(self.X.ndim >= 1, "ArrayDataset", "X with a sample axis (ndim >= 1)", "a scalar")
        self.y = None
        if y is not None:
            self.y = _cast_labels(y.numpy() if isinstance(y, Tensor) else y, "ArrayDataset")
            check(len(self.y) == len(self.X), "ArrayDataset", "len(y) == len(X)",
                  f"X {self.X.shape} and y {self.y.shape}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            x = self.X[index]
            if self.transform is not None:
                x = self.transform(x[None])[0]
            return x if self.y is None else (x, self.y[index])
        return self.get_batch(index)

    def get_batch(self, indices):
        """Fetch many samples at once: ``(X[idx], y[idx])`` (or ``X[idx]``), transformed."""
        idx = _index_array(indices, len(self), "ArrayDataset.get_batch")
        x = self.X[idx]
        if self.transform is not None:
            x = self.transform(x)
        return x if self.y is None else (x, self.y[idx])


class TensorDataset(Dataset):
    """Tensors sharing their first dimension (PyTorch's ``TensorDataset``).

    Args:
        *tensors (Tensor or array): all with the same ``len``.

    Returns (``ds[i]``): a tuple with row ``i`` of every tensor (as Tensors).
    """

    supports_batch = True

    def __init__(self, *tensors):
        check(len(tensors) > 0, "TensorDataset", "at least one tensor", "none")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t))
                             for t in tensors)
        n = len(self.tensors[0])
        check(all(len(t) == n for t in self.tensors), "TensorDataset",
              "tensors of equal length (first dimension)",
              str([tuple(t.shape) for t in self.tensors]))

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return tuple(Tensor(t.array[index]) for t in self.tensors)
        return self.get_batch(index)

    def get_batch(self, indices):
        """Rows ``indices`` of every tensor's array, as a tuple of arrays."""
        idx = _index_array(indices, len(self), "TensorDataset.get_batch")
        if B.is_cupy_array(self.tensors[0].array):  # pragma: no cover - GPU only
            idx = B.cupy.asarray(idx)
        return tuple(t.array[idx] for t in self.tensors)


class MemmapDataset(Dataset):
    """Features (and labels) in ``.npy`` files, memory-mapped and read batch by batch (Q32).

    Only the rows of each batch are read from disk, so the file may be larger than RAM.
    Floating rows are cast to the default dtype per batch, integer labels to int64.

    Args:
        x_path (str or Path): ``.npy`` file of features, first axis = samples.
        y_path (str or Path): ``.npy`` file of labels, or None. Default None.
        transform: callable applied to each feature batch. Default None.

    Example:
        >>> np.save("x.npy", big_array)  # or np.lib.format.open_memmap to write in pieces
        >>> loader = DataLoader(MemmapDataset("x.npy", "y.npy"), batch_size=256)
    """

    supports_batch = True

    def __init__(self, x_path, y_path=None, transform=None):
        self.X = np.load(x_path, mmap_mode="r")
        check(isinstance(self.X, np.memmap), "MemmapDataset", "a .npy file (memory-mappable)",
              f"{type(self.X).__name__} from {x_path}", "save each array with np.save")
        self.y = None if y_path is None else np.load(y_path, mmap_mode="r")
        if self.y is not None:
            check(len(self.y) == len(self.X), "MemmapDataset", "len(y) == len(X)",
                  f"X {self.X.shape} and y {self.y.shape}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            out = self.get_batch([index])
            return out[0] if self.y is None else (out[0][0], out[1][0])
        return self.get_batch(index)

    @staticmethod
    def _read(mm, idx):
        # Reading rows in file order keeps disk access sequential; then restore batch order.
        order = np.argsort(idx, kind="stable")
        rows = np.empty((len(idx),) + mm.shape[1:], dtype=mm.dtype)
        rows[order] = mm[idx[order]]
        return rows

    def get_batch(self, indices):
        """Read rows ``indices`` from disk: ``(x, y)`` arrays (or ``x``)."""
        idx = _index_array(indices, len(self), "MemmapDataset.get_batch") % len(self)
        x = _cast_float(self._read(self.X, idx))
        if self.transform is not None:
            x = self.transform(x)
        if self.y is None:
            return x
        return x, _cast_labels(self._read(self.y, idx), "MemmapDataset")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (vectorized when ``dataset`` is).

    Args:
        dataset: any dataset.
        indices: integer indices (array-like) into ``dataset``.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _index_array(indices, len(dataset), "Subset")

    @property
    def supports_batch(self) -> bool:
        return supports_batch(self.dataset)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.get_batch(index)

    def get_batch(self, indices):
        """Fetch ``dataset`` rows ``self.indices[indices]`` in one call."""
        idx = _index_array(indices, len(self), "Subset.get_batch")
        return self.dataset.get_batch(self.indices[idx])


class ConcatDataset(Dataset):
    """Several datasets one after another.

    Args:
        datasets: a sequence of datasets whose samples have the same structure.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        check(len(self.datasets) > 0, "ConcatDataset", "at least one dataset", "none")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    @property
    def supports_batch(self) -> bool:
        return all(supports_batch(d) for d in self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return self.get_batch(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        index = int(index) % n
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - start]

    def get_batch(self, indices):
        """Group ``indices`` by part, fetch each part once, restore the requested order."""
        idx = _index_array(indices, len(self), "ConcatDataset.get_batch") % len(self)
        part = np.searchsorted(self.cumulative_sizes, idx, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]]).astype(np.int64)
        order = np.argsort(part, kind="stable")
        pieces = [self.datasets[p].get_batch(idx[order][part[order] == p] - starts[p])
                  for p in np.unique(part)]
        inverse = np.argsort(order, kind="stable")
        if isinstance(pieces[0], tuple):
            return tuple(np.concatenate(f)[inverse] for f in zip(*pieces))
        return np.concatenate(pieces)[inverse]


def labels_of(dataset):
    """The labels of a supervised dataset as a host array (used for stratification).

    ArrayDataset/MemmapDataset: ``y``; TensorDataset: its last tensor (when it has two or more);
    Subset/ConcatDataset: their parts' labels; anything else: ``ds[i][1]`` for every ``i``.
    Returns None when the dataset has no labels.
    """
    if isinstance(dataset, (ArrayDataset, MemmapDataset)):
        return None if dataset.y is None else np.asarray(dataset.y)
    if isinstance(dataset, TensorDataset):
        return B.to_host(dataset.tensors[-1].array) if len(dataset.tensors) > 1 else None
    if isinstance(dataset, Subset):
        y = labels_of(dataset.dataset)
        return None if y is None else y[dataset.indices]
    if isinstance(dataset, ConcatDataset):
        parts = [labels_of(d) for d in dataset.datasets]
        return None if any(p is None for p in parts) else np.concatenate(parts)
    first = dataset[0]
    if not isinstance(first, (tuple, list)) or len(first) < 2:
        return None
    return np.asarray([B.to_host(getattr(dataset[i][1], "array", dataset[i][1]))
                       for i in range(len(dataset))])


def _generator(seed):
    return B.rng() if seed is None else np.random.default_rng(seed)


def random_split(dataset, lengths, seed=None) -> list:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        dataset: the dataset to split.
        lengths: sizes summing to ``len(dataset)``, or fractions summing to 1 (remainders go
            one by one to the first parts, as in PyTorch).
        seed (int): seed of the permutation; None draws from ``lamina.backend.rng()`` (fixed by
            ``lamina.manual_seed``). Default None.

    Returns:
        list of Subset, one per entry of ``lengths``.

    Example:
        >>> train, val = random_split(ds, [0.8, 0.2], seed=0)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(v, float) for v in lengths) and abs(sum(lengths) - 1) < 1e-6:
        sizes = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    check(sum(lengths) == n and all(v >= 0 for v in lengths), "random_split",
          f"non-negative lengths summing to len(dataset) = {n} (or fractions summing to 1)",
          str(lengths))
    perm = _generator(seed).permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

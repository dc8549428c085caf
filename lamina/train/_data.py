"""What ``Trainer`` accepts as data: a DataLoader, a Dataset, ``(X, y)`` arrays or ``X``."""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor

__all__ = ["as_loader", "is_loader", "split_validation", "class_weighted"]


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
        x, y = (B.to_host(a.array) if isinstance(a, Tensor) else a for a in data)
        dataset = ArrayDataset(x, y)
    elif _is_array(data):
        if bs is None:
            raise ValueError(f"{op}: expected batch_size=... when the data is an array, got None")
        dataset = ArrayDataset(B.to_host(data.array) if isinstance(data, Tensor) else data)
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        dataset, bs = data, bs or 32
    else:
        raise TypeError(f"{op}: expected a DataLoader, a Dataset or an (X, y) tuple of arrays, "
                        f"got {type(data).__name__}")
    return DataLoader(dataset, batch_size=int(bs), shuffle=shuffle)


def split_validation(data, fraction: float, op: str = "fit"):
    """Keras's ``validation_split``: the last ``fraction`` of the samples, taken before shuffling.

    Args:
        data: an ``(X, y)`` tuple of arrays/Tensors or an indexable Dataset (not a loader).
        fraction (float): in (0, 1).
        op (str): the calling method, for error messages. Default ``"fit"``.

    Returns:
        tuple: ``(train_part, validation_part)`` of the same kind as ``data``.
    """
    from ..data import Subset
    if not 0 < fraction < 1:
        raise ValueError(f"{op}: expected 0 < validation_split < 1, got {fraction}")
    if is_loader(data):
        raise ValueError(f"{op}: validation_split needs (X, y) arrays or a Dataset, got a "
                         f"{type(data).__name__} (pass validation_data=... instead)")
    n = len(data[0]) if isinstance(data, (tuple, list)) else len(data)
    cut = int(n * (1.0 - fraction))  # Keras: split_at = int(n * (1 - validation_split))
    if cut <= 0 or cut >= n:
        raise ValueError(f"{op}: validation_split={fraction} of {n} samples leaves an empty "
                         "training or validation part")
    if isinstance(data, (tuple, list)):
        return tuple(a[:cut] for a in data), tuple(a[cut:] for a in data)
    return Subset(data, list(range(cut))), Subset(data, list(range(cut, n)))


def class_weighted(loss_fn, class_weight: dict, op: str = "fit"):
    """A loss applying Keras's ``class_weight``: each sample's loss times its class's weight,
    averaged over the batch (Keras's ``sum_over_batch_size``).

    Args:
        loss_fn (callable): ``loss_fn(outputs, targets, reduction="none")`` must give per-sample
            losses (``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``...).
        class_weight (dict): class index -> weight; classes not listed weigh 1.
        op (str): the calling method, for error messages. Default ``"fit"``.

    Returns:
        callable: ``loss(outputs, targets) -> scalar Tensor``.
    """
    np = B.np
    if not isinstance(class_weight, dict) or not class_weight:
        raise TypeError(f"{op}: expected class_weight as a non-empty dict class -> weight, got "
                        f"{class_weight!r}")
    top = max(int(k) for k in class_weight)
    table = np.ones(top + 1, dtype=B.get_default_dtype())
    for k, w in class_weight.items():
        table[int(k)] = w

    def loss(outputs, targets):
        per = loss_fn(outputs, targets, reduction="none")
        labels = B.to_host(targets.array if isinstance(targets, Tensor) else targets)
        labels = labels.astype(np.int64).reshape(len(labels), -1)[:, 0]
        w = np.ones(len(labels), dtype=table.dtype)
        known = labels <= top
        w[known] = table[labels[known]]
        w = w.reshape((-1,) + (1,) * (per.ndim - 1)).astype(per.array.dtype)
        return (per * Tensor(w).to(per.device)).mean()

    return loss

"""``DataLoader``: batches of lamina Tensors from a dataset, seeded, resumable, optionally
prefetched on a background thread.
"""

from __future__ import annotations

import queue
import threading

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check
from .dataset import supports_batch
from .sampler import BatchSampler, RandomSampler, SequentialSampler, draw_seed

__all__ = ["DataLoader", "default_collate", "to_tensors"]

np = B.np


def default_collate(samples):
    """Stack a list of samples into batch arrays, field by field.

    Tuples/lists are collated per position, dicts per key, Tensors and arrays are stacked along
    a new first axis, Python numbers become 1-D arrays, strings stay a list.

    Args:
        samples (list): samples as returned by ``dataset[i]``.

    Returns:
        the batch with the structure of one sample (arrays in place of values).
    """
    first = samples[0]
    if isinstance(first, Tensor):
        xp = B.get_array_module(first.array)
        return xp.stack([s.array for s in samples])
    if isinstance(first, (tuple, list)):
        return tuple(default_collate(list(field)) for field in zip(*samples))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, str):
        return list(samples)
    if B.is_cupy_array(first):  # pragma: no cover - GPU only
        return B.cupy.stack(samples)
    return np.stack([np.asarray(s) for s in samples])


def to_tensors(batch):
    """Arrays -> Tensors (floats in the default dtype, integers int64), keeping the structure."""
    if isinstance(batch, B.ndarray_types):
        if batch.dtype.kind == "f" and batch.dtype != B.get_default_dtype():
            batch = batch.astype(B.get_default_dtype())
        elif batch.dtype.kind in "iu" and batch.dtype != np.int64:
            batch = batch.astype(np.int64)
        return Tensor(batch)
    if isinstance(batch, tuple):
        return tuple(to_tensors(b) for b in batch)
    if isinstance(batch, list) and batch and not isinstance(batch[0], str):
        return [to_tensors(b) for b in batch]
    if isinstance(batch, dict):
        return {k: to_tensors(v) for k, v in batch.items()}
    return batch


def _apply(transform, x, rng):
    if getattr(transform, "accepts_rng", False):
        return transform(x, rng=rng)
    return transform(x)


def _worker(source, q, stop):
    """Background producer: put ("item", batch) ... then ("done"|"error", ...)."""

    def put(msg) -> bool:
        while not stop.is_set():
            try:
                q.put(msg, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in source:
            if not put(("item", item)):
                return
        put(("done", None))
    except BaseException as e:  # forwarded to the consumer thread
        put(("error", e))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


class _PrefetchIterator:
    """Iterates batches produced ``depth`` ahead on a daemon thread; ``close()`` (also run when
    the iterator is dropped, e.g. after ``break``) stops the thread and drains the queue."""

    def __init__(self, source, depth: int):
        self._q = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        # the thread must not reference self, or dropping the iterator would never close it
        self._thread = threading.Thread(target=_worker, args=(source, self._q, self._stop),
                                        daemon=True, name="lamina-prefetch")
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._q.get()
        if kind == "item":
            return value
        self.close()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the producer thread and wait for it (idempotent)."""
        self._done = True
        self._stop.set()
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __del__(self):
        self.close()


class DataLoader:
    """Iterate a dataset in batches of lamina Tensors (PyTorch's conventions).

    Array-backed datasets (ArrayDataset, TensorDataset, MemmapDataset, Subset/ConcatDataset of
    those) are fetched with one fancy-index per batch; other datasets use ``dataset[i]`` per
    sample and ``collate_fn`` (default: :func:`default_collate`, stacking).

    Shuffling is seeded and resumable: the loader holds ``seed`` (drawn once from
    ``lamina.backend.rng()`` when None, so ``lamina.manual_seed`` fixes it) and ``epoch``; epoch
    ``e``'s order depends only on ``(seed, e)``. Each ``iter(loader)`` uses the current epoch and
    advances it, so every epoch has a new order; ``set_epoch(e)`` jumps, and
    ``state_dict()``/``load_state_dict()`` make a resumed run replay the next epoch's order exactly.

    Args:
        dataset: a map-style dataset (``__len__``, ``__getitem__``).
        batch_size (int): samples per batch. Default 1.
        shuffle (bool): new random order every epoch. Default False.
        drop_last (bool): drop the final short batch. Default False.
        seed (int): base seed of shuffling and of random ``transform`` s; None draws it from
            ``lamina.backend.rng()``. Default None.
        sampler: a :class:`Sampler` giving the epoch's indices (excludes ``shuffle``).
        batch_sampler: yields index batches, e.g. :class:`StratifiedBatchSampler` (excludes
            ``batch_size``, ``shuffle``, ``sampler``, ``drop_last``).
        collate_fn: list of samples -> batch; forces the per-sample path. Default None.
        prefetch (int): batches prepared ahead on a background thread; 0 = none. Default 0.
        transform: callable applied to the feature batch (first field) before conversion, e.g.
            ``Compose([RandomShift(2), RandomFlip()])``. Random transforms get a generator
            seeded by ``(seed, epoch)``, so results do not depend on ``prefetch``.
        num_workers: with ``pin_memory``, ``timeout``, ``worker_init_fn``,
            ``multiprocessing_context``, ``prefetch_factor``, ``persistent_workers``,
            ``pin_memory_device`` and ``in_order``, PyTorch's
            worker options, accepted so torch code runs unchanged and otherwise ignored:
            batches are built in this process (use ``prefetch`` for a background thread), so
            ``worker_init_fn`` is never called, as in torch with ``num_workers=0``.
        generator: an object with ``initial_seed()`` (e.g. ``torch.Generator``) seeds the
            shuffling when ``seed`` is None. Default None.

    Yields:
        ``(x, y)`` tuples of Tensors (x in the default float dtype, y int64 or float); a single
        Tensor for unlabeled ArrayDataset/MemmapDataset; the collated structure otherwise.

    Example:
        >>> loader = DataLoader(ArrayDataset(X, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 sampler=None, batch_sampler=None, collate_fn=None, prefetch=0, transform=None,
                 *, num_workers=0, pin_memory=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, prefetch_factor=None,
                 persistent_workers=False, pin_memory_device="", in_order=True):
        check(isinstance(num_workers, int) and num_workers >= 0, "DataLoader",
              "an integer num_workers >= 0", repr(num_workers))
        if seed is None and generator is not None and hasattr(generator, "initial_seed"):
            seed = int(generator.initial_seed())
        check(isinstance(prefetch, int) and prefetch >= 0, "DataLoader",
              "an integer prefetch >= 0", repr(prefetch))
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, "
                             "shuffle, sampler and drop_last; give the batch size to the "
                             "batch sampler instead")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: expected shuffle=False when a sampler is given, got "
                             "shuffle=True; the sampler decides the order")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.drop_last, self.collate_fn = drop_last, collate_fn
        self.prefetch, self.transform = prefetch, transform
        needs_seed = shuffle or transform is not None
        self.seed = int(seed) if seed is not None else (draw_seed() if needs_seed else None)
        self.epoch = 0
        if batch_sampler is None:
            if sampler is None:
                sampler = (RandomSampler(len(dataset), seed=self.seed) if shuffle
                           else SequentialSampler(len(dataset)))
            batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)
        self.sampler = getattr(batch_sampler, "sampler", None)
        self.batch_sampler = batch_sampler
        self._vectorized = collate_fn is None and supports_batch(dataset)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        return len(self.batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch ``epoch``'s order (and augmentation draws)."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        """JSON-able ``{'epoch', 'seed', 'sampler'}``: everything that decides future orders."""
        sampler_state = (self.batch_sampler.state_dict()
                         if hasattr(self.batch_sampler, "state_dict") else {})
        return {"epoch": self.epoch, "seed": self.seed, "sampler": sampler_state}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`; the next ``iter(loader)`` continues the saved run."""
        self.epoch = int(state["epoch"])
        self.seed = None if state.get("seed") is None else int(state["seed"])
        if state.get("sampler") and hasattr(self.batch_sampler, "load_state_dict"):
            self.batch_sampler.load_state_dict(state["sampler"])

    def _fetch(self, idx):
        if self._vectorized:
            return self.dataset.get_batch(idx)
        collate = self.collate_fn or default_collate
        return collate([self.dataset[int(i)] for i in idx])

    def _batches(self, index_batches, rng):
        for idx in index_batches:
            batch = self._fetch(idx)
            if self.transform is not None:
                if isinstance(batch, tuple):
                    batch = (_apply(self.transform, batch[0], rng),) + tuple(batch[1:])
                else:
                    batch = _apply(self.transform, batch, rng)
            yield to_tensors(batch)

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)
        rng = None
        if self.transform is not None and self.seed is not None:
            rng = np.random.default_rng([self.seed, epoch, 1])
        index_batches = iter(self.batch_sampler)  # lamina's samplers draw the order here
        if self.prefetch <= 0:
            return self._batches(index_batches, rng)
        # materialize the order here, so no sampler code runs on the background thread
        return _PrefetchIterator(self._batches(list(index_batches), rng), self.prefetch)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__}, n={len(self.dataset)}, "
                f"batch_size={self.batch_size}, batches={len(self)}, epoch={self.epoch})")

"""Samplers: which sample indices an epoch visits, and in which batches.

Random samplers are reproducible and resumable: each holds an integer ``seed`` (drawn once from
``lamina.backend.rng()`` when not given, so ``lamina.manual_seed`` fixes it) and an ``epoch``
counter; epoch ``e`` draws from a generator seeded with ``(seed, e)``. Iterating advances the
epoch (a new order every epoch), ``set_epoch(e)`` jumps to one, and ``state_dict()`` /
``load_state_dict()`` save and restore both. Samplers produce whole index arrays (``sample()``)
so batching never loops over samples in Python.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "WeightedRandomSampler",
           "BatchSampler", "StratifiedBatchSampler", "draw_seed"]

np = B.np


def draw_seed() -> int:
    """A fresh non-negative seed drawn from ``lamina.backend.rng()``."""
    return int(B.rng().integers(0, 2**63 - 1))


def _length(source, op: str) -> int:
    n = source if isinstance(source, (int, np.integer)) else len(source)
    check(n >= 0, op, "a non-negative number of samples", str(n))
    return int(n)


def _chunks(idx, batch_size: int, drop_last: bool):
    stop = len(idx) - len(idx) % batch_size if drop_last else len(idx)
    return (idx[start:start + batch_size] for start in range(0, stop, batch_size))


class Sampler:
    """Base class: ``sample()`` returns one epoch's indices as an int64 array."""

    def sample(self):
        """One epoch's indices (int64 array). Random samplers advance their epoch."""
        raise NotImplementedError

    def __iter__(self):
        return iter(self.sample().tolist())

    def __len__(self) -> int:
        raise NotImplementedError


class _Seeded:
    """Seed + epoch bookkeeping shared by the random samplers."""

    def _init_seed(self, seed):
        self.seed = draw_seed() if seed is None else int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``sample()`` draw epoch ``epoch``'s order."""
        self.epoch = int(epoch)

    def _next_generator(self):
        g = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        return g

    def state_dict(self) -> dict:
        """``{'seed': int, 'epoch': int}`` (JSON-able)."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` snapshot."""
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class SequentialSampler(Sampler):
    """``0, 1, ..., n-1`` every epoch.

    Args:
        data_source: a dataset (anything with ``len``) or the number of samples.
    """

    def __init__(self, data_source):
        self.n = _length(data_source, "SequentialSampler")

    def sample(self):
        return np.arange(self.n, dtype=np.int64)

    def __len__(self) -> int:
        return self.n


class RandomSampler(_Seeded, Sampler):
    """A new random permutation every epoch (or draws with replacement).

    Args:
        data_source: a dataset or the number of samples ``n``.
        replacement (bool): draw ``num_samples`` indices with replacement. Default False.
        num_samples (int): indices per epoch; default ``n``. Without replacement a value below
            ``n`` takes the first ``num_samples`` of the permutation.
        seed (int): base seed; None draws one from ``lamina.backend.rng()``. Default None.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, seed=None):
        self.n = _length(data_source, "RandomSampler")
        self.replacement = bool(replacement)
        self.num_samples = self.n if num_samples is None else int(num_samples)
        check(self.num_samples >= 0 and (self.replacement or self.num_samples <= self.n),
              "RandomSampler", f"0 <= num_samples <= {self.n} without replacement",
              str(self.num_samples), "pass replacement=True to draw more samples than exist")
        self._init_seed(seed)

    def sample(self):
        g = self._next_generator()
        if self.replacement:
            return g.integers(0, self.n, self.num_samples).astype(np.int64)
        return g.permutation(self.n)[: self.num_samples].astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class WeightedRandomSampler(_Seeded, Sampler):
    """Index ``i`` drawn with probability ``weights[i] / sum(weights)`` (e.g. class balancing).

    Args:
        weights: non-negative per-sample weights (need not sum to 1).
        num_samples (int): indices per epoch.
        replacement (bool): draw with replacement. Default True.
        seed (int): base seed; None draws one from ``lamina.backend.rng()``. Default None.

    Example:
        >>> w = 1.0 / np.bincount(y)[y]          # inverse class frequency
        >>> sampler = WeightedRandomSampler(w, num_samples=len(y))
    """

    def __init__(self, weights, num_samples, replacement=True, seed=None):
        w = np.asarray(getattr(weights, "array", weights), dtype=np.float64).reshape(-1)
        check(w.size > 0 and bool(np.all(np.isfinite(w))) and bool(np.all(w >= 0))
              and w.sum() > 0, "WeightedRandomSampler",
              "finite non-negative weights with a positive sum", f"{w.size} weights, "
              f"min {w.min() if w.size else None}, sum {w.sum()}")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = bool(replacement)
        check(self.replacement or self.num_samples <= int(np.count_nonzero(w)),
              "WeightedRandomSampler", "num_samples <= number of non-zero weights without "
              "replacement", str(self.num_samples))
        self._init_seed(seed)

    def sample(self):
        g = self._next_generator()
        p = self.weights / self.weights.sum()
        return g.choice(len(p), size=self.num_samples, replace=self.replacement,
                        p=p).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler:
    """Group a sampler's indices into batches (index arrays).

    Args:
        sampler: a :class:`Sampler` (or any iterable of indices with ``len``).
        batch_size (int): indices per batch, >= 1.
        drop_last (bool): drop the final short batch. Default False.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False):
        check(isinstance(batch_size, (int, np.integer)) and batch_size >= 1, "BatchSampler",
              "an integer batch_size >= 1", repr(batch_size))
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        # draw the epoch's order now (not lazily), so two live iterators never share an epoch
        if hasattr(self.sampler, "sample"):
            idx = self.sampler.sample()
        else:
            idx = np.fromiter(iter(self.sampler), dtype=np.int64)
        return _chunks(idx, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Forward ``epoch`` to the sampler when it is seeded."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.sampler.state_dict() if hasattr(self.sampler, "state_dict") else {}

    def load_state_dict(self, state: dict) -> None:
        if state and hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(state)


class StratifiedBatchSampler(_Seeded):
    """Batches that each keep the class proportions of ``labels`` (within one sample per class).

    Every epoch the samples of each class are shuffled and spread evenly over the epoch (class
    ``c``'s ``k``-th sample sits at position ``(k + u_c) / n_c`` with a random offset ``u_c``);
    cutting that order into consecutive batches gives each batch about
    ``batch_size * n_c / n`` samples of class ``c``. Pass it as ``DataLoader(batch_sampler=...)``.

    Args:
        labels: class label per sample (any hashable values, 1-D).
        batch_size (int): samples per batch.
        seed (int): base seed; None draws one from ``lamina.backend.rng()``. Default None.
        drop_last (bool): drop the final short batch. Default False.
    """

    def __init__(self, labels, batch_size: int, seed=None, drop_last: bool = False):
        labels = np.asarray(getattr(labels, "array", labels)).reshape(-1)
        check(isinstance(batch_size, (int, np.integer)) and batch_size >= 1,
              "StratifiedBatchSampler", "an integer batch_size >= 1", repr(batch_size))
        self.classes, self._inv = np.unique(labels, return_inverse=True)
        self._counts = np.bincount(self._inv)
        self.batch_size, self.drop_last = int(batch_size), drop_last
        self._init_seed(seed)

    def sample(self):
        """One epoch's indices in stratified order (advances the epoch)."""
        g = self._next_generator()
        n = len(self._inv)
        perm = g.permutation(n)
        cls = self._inv[perm]
        order = np.argsort(cls, kind="stable")  # grouped by class, random order inside
        starts = np.concatenate([[0], np.cumsum(self._counts)[:-1]])
        rank = np.arange(n) - starts[cls[order]]
        offset = g.random(len(self._counts))
        key = np.empty(n)
        key[perm[order]] = (rank + offset[cls[order]]) / self._counts[cls[order]]
        return np.argsort(key, kind="stable").astype(np.int64)

    def __iter__(self):
        return _chunks(self.sample(), self.batch_size, self.drop_last)

    def __len__(self) -> int:
        n = len(self._inv)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

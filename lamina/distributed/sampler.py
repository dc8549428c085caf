"""``DistributedSampler``: each rank's share of an epoch, the same permutation on every rank."""

from __future__ import annotations

from .. import backend as B
from ..data.sampler import Sampler, _Seeded
from ..errors import check
from . import comm

__all__ = ["DistributedSampler"]

np = B.np


class DistributedSampler(_Seeded, Sampler):
    """Rank ``r`` of ``R`` visits positions ``r, r + R, r + 2R, ...`` of the epoch's order.

    Every rank draws the same permutation (seeded by ``(seed, epoch)``), so the shards are
    disjoint and together cover the epoch. With a per-rank batch of ``B``, batch ``b`` of all
    ranks together is exactly batch ``b`` of a single process with batch ``R * B`` over the same
    order, which is what makes data-parallel training equal single-process training.

    Args:
        dataset: anything with ``len()`` (or an int, the number of samples).
        num_replicas (int, optional): number of ranks. Default: ``world_size()``.
        rank (int, optional): this rank. Default: ``rank()``.
        shuffle (bool): a new permutation every epoch. Default True.
        seed (int): base seed; must be equal on every rank. Default 0 (as PyTorch).
        drop_last (bool): drop the tail that does not divide by ``num_replicas`` (every rank
            then has ``n // R`` samples). Default False.
        pad (bool): when not dropping, repeat the first indices so every rank has
            ``ceil(n / R)`` samples (PyTorch's behaviour, some samples seen twice). False keeps
            the shards uneven (lengths differ by at most one) so the union is exactly the
            epoch; :class:`DistributedDataParallel` weights the ranks by their sample counts.
            Default True.

    Example:
        >>> sampler = DistributedSampler(ds, shuffle=True, seed=0)
        >>> loader = DataLoader(ds, batch_size=32, sampler=sampler)   # set_epoch via loader
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 pad: bool = True):
        n = dataset if isinstance(dataset, int) else len(dataset)
        self.num_replicas = comm.world_size() if num_replicas is None else int(num_replicas)
        self.rank = comm.rank() if rank is None else int(rank)
        check(self.num_replicas >= 1 and 0 <= self.rank < self.num_replicas,
              "DistributedSampler", "0 <= rank < num_replicas",
              f"rank={self.rank}, num_replicas={self.num_replicas}", cls=ValueError)
        check(n >= self.num_replicas or not drop_last, "DistributedSampler",
              f"at least num_replicas={self.num_replicas} samples with drop_last", f"{n}",
              cls=ValueError)
        self.n, self.shuffle, self.drop_last, self.pad = n, shuffle, drop_last, pad
        self._init_seed(seed)

    def _total(self) -> int:
        R = self.num_replicas
        if self.drop_last:
            return self.n - self.n % R
        if self.pad:
            return -(-self.n // R) * R
        return self.n

    def sample(self):
        """This rank's indices for the current epoch (int64); advances the epoch."""
        g = self._next_generator()
        order = g.permutation(self.n) if self.shuffle else np.arange(self.n)
        total = self._total()
        if total > self.n:
            reps = -(-total // max(self.n, 1))
            order = np.tile(order, reps)[:total]
        return order[:total][self.rank::self.num_replicas].astype(np.int64)

    def __len__(self) -> int:
        total, R = self._total(), self.num_replicas
        return len(range(self.rank, total, R))

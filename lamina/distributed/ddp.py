"""``DistributedDataParallel``: PyTorch DDP's contract on MPI.

At construction rank 0's parameters and buffers are broadcast. Gradients are grouped into
buckets of at most ``bucket_cap_mb`` (in reverse parameter order, roughly the order backward
produces them). Each parameter carries a post-accumulate-grad hook, which the engine fires during
the graph pass as soon as that parameter's ``.grad`` is final: it copies the gradient into the
bucket's flat buffer, and a bucket whose last gradient arrived starts a non-blocking
``Iallreduce`` at once, in bucket order on every rank, while backward goes on computing the
earlier layers. The hook of the last gradient waits for every bucket, so all gradients are
averaged by the time ``backward()`` returns.

Uneven shards: each rank scales its gradient by its local sample count ``n_r`` and every bucket
carries ``n_r`` in one extra slot, so the reduced gradient is ``sum_r n_r g_r / sum_r n_r``: the
gradient of the mean loss over the global batch, also when the last batch does not divide by the
number of ranks. Under :meth:`~DistributedDataParallel.no_sync` the local gradients and counts
accumulate, and the next synchronised backward gives the mean gradient over every sample all
ranks saw since the last sync, as if the micro-batches were one large batch (do not divide the
loss by the number of accumulation steps).

MPICH advances a non-blocking collective only inside MPI calls, so every hook also tests the
buckets in flight (up to ``PROGRESS_TESTS`` ``MPI_Test`` calls), which moves their all-reduce on
between layers; see docs/distributed.md, "What overlaps", for what that buys on one host.
"""

from __future__ import annotations

import contextlib
import time

from .. import backend as B
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..nn.module import Module
from . import comm

__all__ = ["DistributedDataParallel", "DDP"]

np = B.np
# MPI_Test calls a hook makes at most on the buckets in flight (it stops once none is left):
# one call barely moves a large all-reduce through MPICH's shared-memory cells; see
# docs/distributed.md, "What overlaps", for the measurement behind 50
PROGRESS_TESTS = 50


def _batch_len(x) -> int:
    if isinstance(x, (tuple, list)):
        x = x[0]
    a = x.array if isinstance(x, Tensor) else x
    return int(a.shape[0]) if hasattr(a, "shape") and len(a.shape) else 1


class _Bucket:
    def __init__(self, params, dtype):
        self.params = params
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append(total)
            total += p.array.size
        self.buf = np.zeros(total + 1, dtype)  # last slot: the sample count
        self.ready = 0
        self.work = None


class DistributedDataParallel(Module):
    """Data-parallel wrapper: every rank holds a replica, gradients are averaged over ranks.

    Args:
        module (Module): the model (same architecture on every rank).
        bucket_cap_mb (float): bucket size in MiB. Default 25 (PyTorch's).
        broadcast_buffers (bool): copy rank 0's buffers (BatchNorm running statistics) to
            every rank before each training forward, as PyTorch. Default True.
        find_unused_parameters (bool): after each forward, walk the graph from the outputs
            and mark parameters it does not reach as ready (zero gradient), so a model with
            branches that are skipped still synchronises. Default False: a parameter that
            got no gradient raises at the next forward.
        batch_size_fn (callable, optional): ``f(*inputs) -> int`` local sample count used as
            the weight; default: the first input's leading dimension.

    Shape:
        Whatever ``module`` takes; the local batch on each rank.

    Example:
        >>> dist.init()
        >>> model = DistributedDataParallel(MLP(64, [128], 10))
        >>> loss = F.cross_entropy(model(xb), yb); loss.backward()   # averaged gradients
    """

    def __init__(self, module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True,
                 find_unused_parameters: bool = False, batch_size_fn=None):
        super().__init__()
        comm.init()
        if bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: expected bucket_cap_mb > 0, got "
                             f"{bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.batch_size_fn = batch_size_fn or (lambda *a: _batch_len(a[0]))
        object.__setattr__(self, "_require_sync", True)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        object.__setattr__(self, "_names", {id(p): n for n, p in named})
        for _, p in module.named_parameters():
            comm.broadcast(p.array)
        self._sync_buffers()
        buckets = self._make_buckets([p for _, p in reversed(named)],
                                     int(bucket_cap_mb * 2**20))
        object.__setattr__(self, "buckets", buckets)
        where = {}
        for bi, b in enumerate(buckets):
            for k, p in enumerate(b.params):
                where[id(p)] = (bi, k)
                p.register_hook(self._scale_hook)
                p.register_post_accumulate_grad_hook(self._ready_hook)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_count", 0)
        object.__setattr__(self, "_n_local", 0)
        object.__setattr__(self, "_launched", 0)
        object.__setattr__(self, "_done", 0)  # buckets[:_done] finished their all-reduce
        object.__setattr__(self, "_inflight", False)
        # MPI_Test calls per hook on the buckets in flight (0: none; the benchmark varies it)
        object.__setattr__(self, "_progress", PROGRESS_TESTS)
        object.__setattr__(self, "_wait_s", 0.0)  # last sync: time blocked in the final wait

    @staticmethod
    def _make_buckets(params, cap_bytes):
        buckets, cur, size = [], [], 0
        for p in params:
            nbytes = p.array.nbytes
            if cur and (size + nbytes > cap_bytes or p.array.dtype != cur[0].array.dtype):
                buckets.append(_Bucket(cur, cur[0].array.dtype))
                cur, size = [], 0
            cur.append(p)
            size += nbytes
        if cur:
            buckets.append(_Bucket(cur, cur[0].array.dtype))
        return buckets

    def _sync_buffers(self):
        if comm.world_size() > 1:
            for m in self.module.modules():
                for k, b in m._buffers.items():
                    if b is not None and hasattr(b, "flags"):
                        comm.broadcast(b)

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        self._check_finished()
        training = self.module.training and is_grad_enabled()
        if training:
            if self.broadcast_buffers:
                self._sync_buffers()
            n = int(self.batch_size_fn(*inputs))
            object.__setattr__(self, "_n_local", n)
            object.__setattr__(self, "_count", self._count + n)
        out = self.module(*inputs, **kwargs)
        if training and self.find_unused_parameters and self._require_sync:
            self._mark_unreached(out)
        return out

    def _check_finished(self):
        if not self._inflight:
            return
        missing = [self._names[id(p)] for b in self.buckets for k, p in enumerate(b.params)
                   if not getattr(b, "got", [True] * len(b.params))[k]]
        raise RuntimeError(
            "DistributedDataParallel: expected every parameter to receive a gradient in the "
            f"previous backward, got none for {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''} (so their buckets were never all-reduced); "
            "freeze them (requires_grad=False), remove them from the model, or pass "
            "find_unused_parameters=True")

    def _mark_unreached(self, out):
        reached, stack, seen = set(), [], set()
        outs = out if isinstance(out, (tuple, list)) else [out]
        for o in outs:
            if isinstance(o, Tensor):
                stack.append(o)
        while stack:
            t = stack.pop()
            fn = t._creator
            if fn is None:
                reached.add(id(t))
                continue
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            stack.extend(i for i in fn.inputs if isinstance(i, Tensor) and i.requires_grad)
        for b in self.buckets:
            for p in b.params:
                if id(p) not in reached:
                    self._ready(p)

    # ------------------------------------------------------------------ gradients
    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate local gradients (and sample counts) without communicating; the first
        backward after the block synchronises everything accumulated.

        Example:
            >>> with model.no_sync():
            ...     F.cross_entropy(model(x1), y1).backward()
            >>> F.cross_entropy(model(x2), y2).backward()   # mean over x1 and x2, all ranks
        """
        old = self._require_sync
        object.__setattr__(self, "_require_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_require_sync", old)

    def _scale_hook(self, g):
        # runs before accumulation: .grad sums count-weighted gradients (see no_sync)
        return g.array * self._n_local

    def _ready_hook(self, p):
        # fires as soon as p's .grad is final for this backward, during the graph pass
        if self._require_sync:
            self._ready(p)

    def _ready(self, p):
        """Copy ``p``'s accumulated, count-weighted gradient (zeros when it has none) into its
        bucket; launch full buckets in order; the last one waits for all and writes the
        averages back."""
        bi, k = self._where[id(p)]
        b = self.buckets[bi]
        if not self._inflight:
            object.__setattr__(self, "_inflight", True)
            for bk in self.buckets:
                bk.ready, bk.work, bk.got = 0, None, [False] * len(bk.params)
        if b.got[k]:
            return
        b.got[k] = True
        size, off = p.array.size, b.offsets[k]
        view = b.buf[off:off + size].reshape(p.array.shape)
        if p._grad is not None:
            view[...] = p._grad.array
        else:
            view[...] = 0
        b.ready += 1
        self._launch_ready()
        if self._launched < len(self.buckets):
            if self._progress:
                self._test_inflight()
            return
        t0 = time.perf_counter()
        for bk in self.buckets:
            bk.work.wait()
        object.__setattr__(self, "_wait_s", time.perf_counter() - t0)
        for bk in self.buckets:
            total = bk.buf[-1]
            for q, off in zip(bk.params, bk.offsets):
                avg = (bk.buf[off:off + q.array.size] / total).reshape(q.array.shape)
                q._grad = Tensor(avg.astype(q.array.dtype, copy=False))
        object.__setattr__(self, "_inflight", False)
        object.__setattr__(self, "_launched", 0)
        object.__setattr__(self, "_done", 0)
        object.__setattr__(self, "_count", 0)

    def _test_inflight(self):
        """``MPI_Test`` the launched buckets in order, up to ``_progress`` times: MPICH moves
        a non-blocking collective on only inside MPI calls, so this is what advances them
        while backward computes."""
        i = self._done
        for _ in range(self._progress):
            while i < self._launched and self.buckets[i].work.test():
                i += 1
            if i == self._launched:
                break
        object.__setattr__(self, "_done", i)

    def _launch_ready(self):
        i = self._launched
        while i < len(self.buckets) and self.buckets[i].ready == len(self.buckets[i].params):
            b = self.buckets[i]
            b.buf[-1] = self._count
            b.work = comm.iall_reduce(b.buf, "sum")
            i += 1
        object.__setattr__(self, "_launched", i)

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "", keep_vars: bool = False):
        """The wrapped module's state dict (no ``module.`` prefix), so checkpoints load into
        the bare model."""
        return self.module.state_dict(prefix, keep_vars)

    def load_state_dict(self, state_dict, strict: bool = True, prefix: str = ""):
        return self.module.load_state_dict(state_dict, strict, prefix)

    def extra_repr(self) -> str:
        return f"world_size={comm.world_size()}, buckets={len(self.buckets)}"


DDP = DistributedDataParallel

"""``Pipeline``: GPipe's micro-batched pipeline parallelism over MPI point-to-point messages.

A Sequential model is cut into ``world_size()`` consecutive stages, one per rank. ``train_step``
splits the batch into ``micro_batches`` parts; rank ``r`` runs its stage on each part as soon as
rank ``r - 1`` sent the activations (non-blocking sends, so stage ``r`` works on part ``m`` while
stage ``r + 1`` works on part ``m - 1``), the last rank computes the loss, then the gradients of
the activations flow back in reverse order (the GPipe schedule: all forwards, then all
backwards). Each micro-batch's loss is weighted by its share of the batch, so the accumulated
gradients equal those of the unsplit model on the whole batch. Every rank keeps only its stage's
parameters and steps its own optimizer.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor
from ..nn.containers import Sequential
from ..nn.module import Module
from . import comm

__all__ = ["Pipeline", "split_sequential"]

np = B.np
_HDR = 9  # ndim + up to 8 dims


def split_sequential(model, stages: int, balance=None) -> list:
    """Cut a Sequential into ``stages`` consecutive Sequentials.

    Args:
        model (Sequential): the model.
        stages (int): number of parts (>= 1, <= number of layers).
        balance (list of int, optional): layers per stage; default: as equal as possible.

    Returns:
        list[Sequential]: the stages (sharing the original layers).
    """
    layers = list(model.children())
    if not 1 <= stages <= len(layers):
        raise ValueError(f"Pipeline: expected 1 <= stages <= {len(layers)} (the layers of the "
                         f"Sequential), got {stages}")
    if balance is None:
        q, r = divmod(len(layers), stages)
        balance = [q + (i < r) for i in range(stages)]
    if len(balance) != stages or sum(balance) != len(layers) or min(balance) < 1:
        raise ValueError(f"Pipeline: expected balance of {stages} positive counts summing to "
                         f"{len(layers)}, got {balance}")
    out, start = [], 0
    for n in balance:
        out.append(Sequential(*layers[start:start + n]))
        start += n
    return out


class Pipeline(Module):
    """Pipeline-parallel training of a Sequential over ``world_size()`` ranks (GPipe).

    Args:
        model (Sequential): the whole model, built identically on every rank (each keeps its
            own stage).
        micro_batches (int): parts each batch is split into. Default 4.
        balance (list of int, optional): layers per stage. Default: equal split.

    Attributes:
        stage (Sequential): this rank's part. ``parameters()`` yields only its parameters.

    Shape:
        ``train_step(x (N, *), y (N, *))``: N >= micro_batches.

    Example:
        >>> pipe = Pipeline(nn.Sequential(...), micro_batches=4)
        >>> opt = optim.SGD(pipe.parameters(), lr=0.1)
        >>> opt.zero_grad(); loss = pipe.train_step(x, y, F.cross_entropy); opt.step()
    """

    def __init__(self, model, micro_batches: int = 4, balance=None):
        super().__init__()
        if micro_batches < 1:
            raise ValueError(f"Pipeline: expected micro_batches >= 1, got {micro_batches}")
        comm.init()
        self.micro_batches = int(micro_batches)
        self.rank, self.stages = comm.rank(), comm.world_size()
        self.stage = split_sequential(model, self.stages, balance)[self.rank]

    @property
    def is_first(self) -> bool:
        return self.rank == 0

    @property
    def is_last(self) -> bool:
        return self.rank == self.stages - 1

    def _send(self, a, dest, tag, pending):
        hdr = np.zeros(_HDR, np.int64)
        hdr[0] = a.ndim
        hdr[1:1 + a.ndim] = a.shape
        pending.append(comm.send(hdr, dest, tag))
        pending.append(comm.send(a, dest, tag + 1))

    def _recv(self, source, tag, dtype):
        hdr = comm.recv((_HDR,), np.int64, source, tag)
        return comm.recv(tuple(int(d) for d in hdr[1:1 + hdr[0]]), dtype, source, tag + 1)

    def _parts(self, t):
        a = t.array if isinstance(t, Tensor) else np.asarray(t)
        n = a.shape[0]
        if n < self.micro_batches:
            raise ValueError(f"Pipeline: expected a batch of at least micro_batches="
                             f"{self.micro_batches} samples, got {n}")
        return [Tensor(p) for p in np.array_split(a, self.micro_batches)]

    def _dtype(self):
        p = next(iter(self.stage.parameters()), None)
        return p.dtype if p is not None else B.get_default_dtype()

    def train_step(self, x, y, loss_fn) -> float:
        """Forward and backward one batch with the GPipe schedule (gradients accumulate into
        this stage's ``.grad``; call the optimizer after). Every rank passes the same ``x`` and
        ``y`` (only the first stage reads ``x``, only the last reads ``y``).

        Args:
            x: the batch's inputs. y: its targets. loss_fn: ``loss_fn(out, y) -> scalar``.

        Returns:
            float: the batch's mean loss (on every rank).
        """
        xs, ys = self._parts(x), self._parts(y)
        total = sum(len(p) for p in ys)
        dtype, pending, saved = self._dtype(), [], []
        loss_sum = np.zeros(1, np.float64)
        for m, (xm, ym) in enumerate(zip(xs, ys)):
            inp = xm if self.is_first else Tensor(self._recv(self.rank - 1, 4 * m, dtype),
                                                  requires_grad=True)
            out = self.stage(inp)
            if self.is_last:
                out = loss_fn(out, ym) * (len(ym) / total)
                loss_sum[0] += float(out.item())
            else:
                self._send(out.array, self.rank + 1, 4 * m, pending)
            saved.append((inp, out))
        for m in reversed(range(len(saved))):
            inp, out = saved[m]
            if self.is_last:
                out.backward()
            else:
                g = self._recv(self.rank + 1, 4 * m + 2, out.dtype)
                out.backward(Tensor(g))
            if not self.is_first:
                self._send(inp.grad.array, self.rank - 1, 4 * m + 2, pending)
        for w in pending:
            w.wait()
        return float(comm.broadcast(loss_sum, root=self.stages - 1)[0])

    def forward(self, x):
        """Inference through every stage (no micro-batching); the output on every rank."""
        a = x
        if not self.is_first:
            a = Tensor(self._recv(self.rank - 1, 30000, self._dtype()))
        out = self.stage(a)
        pending = []
        if not self.is_last:
            self._send(out.array, self.rank + 1, 30000, pending)
            for w in pending:
                w.wait()
            hdr = np.zeros(_HDR, np.int64)
            comm.broadcast(hdr, root=self.stages - 1)
            res = np.empty(tuple(int(d) for d in hdr[1:1 + hdr[0]]), out.dtype)
        else:
            res = np.ascontiguousarray(out.array)
            hdr = np.zeros(_HDR, np.int64)
            hdr[0] = res.ndim
            hdr[1:1 + res.ndim] = res.shape
            if self.stages > 1:
                comm.broadcast(hdr, root=self.stages - 1)
        if self.stages > 1:
            comm.broadcast(res, root=self.stages - 1)
        return Tensor(res) if self.stages > 1 else out

    def extra_repr(self) -> str:
        return f"stage {self.rank + 1}/{self.stages}, micro_batches={self.micro_batches}"

"""Asynchronous data parallelism: a parameter server with bounded staleness.

Rank 0 holds the model and the optimizer and serves; ranks ``1..W`` are workers. A worker
computes the gradient of one batch of its shard on its copy of the weights (version ``v``),
pushes it, and receives the server's current weights in reply; there is no barrier between
workers, so a fast worker never waits for a slow one. The server applies a gradient at once
when its staleness (updates made by others since version ``v``) is at most ``max_staleness``,
and drops it otherwise (the worker then continues from the fresh weights it receives). With
one worker every gradient has staleness 0 and training equals single-process SGD exactly.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor
from . import comm

__all__ = ["ParameterServer"]

np = B.np
_PUSH, _GRAD, _WEIGHTS = 11, 12, 13


def _flat(params, grads: bool):
    parts = [(p.grad.array if p.grad is not None else np.zeros_like(p.array)) if grads
             else p.array for p in params]
    return np.concatenate([a.reshape(-1) for a in parts])


def _unflat(params, vec, grads: bool):
    off = 0
    for p in params:
        n = p.array.size
        chunk = vec[off:off + n].reshape(p.array.shape).astype(p.array.dtype, copy=True)
        if grads:
            p._grad = Tensor(chunk)
        else:
            p.array[...] = chunk
        off += n


class ParameterServer:
    """Parameter-server training: rank 0 serves, the other ranks compute gradients.

    Args:
        model (Module): the same architecture on every rank (rank 0's weights are sent).
        optimizer: rank 0's optimizer over ``model.parameters()`` (ignored on workers; pass
            None there if you like).
        max_staleness (int): largest number of other workers' updates a gradient may lag
            behind and still be applied. Default 4.

    Attributes:
        staleness (list of int): on rank 0, the staleness of every gradient received.
        dropped (int): on rank 0, gradients discarded for being too stale.

    Example:
        >>> ps = ParameterServer(model, optim.SGD(model.parameters(), 0.1), max_staleness=2)
        >>> ps.fit(loader, epochs=5, loss_fn=F.cross_entropy)   # loader over the rank's shard
    """

    def __init__(self, model, optimizer=None, max_staleness: int = 4):
        comm.init()
        if comm.world_size() < 2 and comm.under_launcher():
            raise ValueError("ParameterServer: expected at least 2 ranks (a server and a "
                             f"worker), got {comm.world_size()}")
        if max_staleness < 0:
            raise ValueError(f"ParameterServer: expected max_staleness >= 0, got "
                             f"{max_staleness}")
        self.model, self.optimizer, self.max_staleness = model, optimizer, int(max_staleness)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.size = sum(p.array.size for p in self.params)
        self.dtype = self.params[0].array.dtype
        self.staleness, self.dropped, self.version = [], 0, 0
        for p in model.parameters():
            comm.broadcast(p.array)

    @property
    def is_server(self) -> bool:
        return comm.rank() == 0

    def fit(self, loader, epochs: int, loss_fn):
        """Serve (rank 0) or train (workers) until every worker finished ``epochs`` epochs.

        Args:
            loader: the worker's DataLoader (its shard, e.g. with a DistributedSampler over
                ``num_replicas = world_size() - 1``, ``rank = rank() - 1``); unused on rank 0.
            epochs (int): epochs per worker.
            loss_fn: ``loss_fn(out, y) -> scalar``.

        Returns:
            list[float]: worker: its batch losses; server: [].
        """
        if comm.world_size() == 1:
            return self._local(loader, epochs, loss_fn)
        if self.is_server:
            self._serve(comm.world_size() - 1)
            return []
        return self._work(loader, epochs, loss_fn)

    def _local(self, loader, epochs, loss_fn):
        losses = []
        for _ in range(epochs):
            for x, y in loader:
                self.optimizer.zero_grad()
                loss = loss_fn(self.model(x), y)
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
        return losses

    def _serve(self, workers: int) -> None:
        live = workers
        while live:
            head, src = comm.recv((2,), np.int64, None, _PUSH, return_source=True)
            if head[0] < 0:  # a worker finished
                live -= 1
                continue
            grad = comm.recv((self.size,), self.dtype, src, _GRAD)
            lag = self.version - int(head[1])
            self.staleness.append(lag)
            if lag <= self.max_staleness:
                _unflat(self.params, grad, grads=True)
                self.optimizer.step()
                self.version += 1
            else:
                self.dropped += 1
            reply = np.concatenate([_flat(self.params, False),
                                    np.array([self.version], self.dtype)])
            comm.send(reply, src, _WEIGHTS).wait()

    def _work(self, loader, epochs, loss_fn):
        losses, version = [], 0
        for _ in range(epochs):
            for x, y in loader:
                for p in self.params:
                    p._grad = None
                loss = loss_fn(self.model(x), y)
                loss.backward()
                losses.append(loss.item())
                comm.send(np.array([1, version], np.int64), 0, _PUSH).wait()
                comm.send(_flat(self.params, True), 0, _GRAD).wait()
                reply = comm.recv((self.size + 1,), self.dtype, 0, _WEIGHTS)
                _unflat(self.params, reply[:-1], grads=False)
                version = int(reply[-1])
        comm.send(np.array([-1, version], np.int64), 0, _PUSH).wait()
        return losses

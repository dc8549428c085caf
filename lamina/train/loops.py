"""Step-count training loops for data that is not a fixed set of epochs.

:class:`~lamina.train.Trainer` runs epochs over a loader. Two common recipes draw their batches
differently and live here, so examples and tests share one copy:

- :func:`fit_sampled`: each step samples a random minibatch of indices (seq2seq, taggers,
  anything whose loss takes index arrays and pads per batch).
- :func:`fit_tbptt`: truncated backpropagation through time over one long token stream
  (character language models), carrying the recurrent state between consecutive windows.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..nn.utils import clip_grad_norm_

__all__ = ["fit_sampled", "fit_tbptt"]


def _params(optimizer) -> list:
    return [p for g in optimizer.param_groups for p in g["params"]]


def _update(loss, optimizer, clip, scheduler) -> float:
    optimizer.zero_grad()
    loss.backward()
    if clip is not None:
        clip_grad_norm_(_params(optimizer), clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


def fit_sampled(loss_fn, optimizer, n: int, steps: int, batch_size: int = 64, seed: int = 0,
                clip: float | None = None, scheduler=None, callback=None) -> list:
    """``steps`` updates, each on a random minibatch of ``batch_size`` indices in ``[0, n)``
    (drawn with replacement from ``numpy.random.default_rng(seed)``).

    Args:
        loss_fn (callable): int index array ``(batch_size,)`` -> scalar loss Tensor.
        optimizer: an Optimizer (or MultiOptimizer) over the trained parameters.
        n (int): number of examples. steps (int): updates.
        batch_size (int): Default 64. seed (int): seeds the index draws. Default 0.
        clip (float, optional): max global gradient norm. Default None (no clipping).
        scheduler (optional): stepped after every update. Default None.
        callback (callable, optional): ``callback(step, loss)`` after every update (``step``
            counts from 1). Default None.

    Returns:
        list[float]: the loss of every step.
    """
    rng = B.np.random.default_rng(seed)
    losses = []
    for s in range(steps):
        losses.append(_update(loss_fn(rng.integers(0, n, batch_size)), optimizer, clip,
                              scheduler))
        if callback is not None:
            callback(s + 1, losses[-1])
    return losses


def fit_tbptt(model, ids, optimizer, steps: int, batch_size: int = 32, seq_len: int = 64,
              clip: float | None = 1.0, scheduler=None, carry_state: bool = True,
              callback=None) -> list:
    """Truncated backpropagation through time on one token stream.

    ``ids`` is cut into ``batch_size`` parallel rows (``X[:, t]`` predicts ``Y[:, t]``, the next
    id); step ``s`` trains on the window starting at ``(s * seq_len) % (n - seq_len)`` of every
    row with next-id cross-entropy. With ``carry_state`` the model's returned state feeds the
    next window, and a new pass over the rows starts from None.

    Args:
        model (Module): ``model(ids (N, T), state) -> (logits (N, T, V), state)``.
        ids: int array ``(L,)``, the training stream.
        optimizer: over the model's parameters. steps (int): updates.
        batch_size (int): parallel rows. Default 32. seq_len (int): window length. Default 64.
        clip (float, optional): max global gradient norm. Default 1.0.
        scheduler (optional): stepped after every update. Default None.
        carry_state (bool): feed each window's final state to the next. Default True.
        callback (callable, optional): ``callback(step, loss)`` after every update.

    Returns:
        list[float]: the loss (nats per token) of every step.
    """
    ids = B.np.asarray(ids)
    n = (len(ids) - 1) // batch_size  # every row needs its next id as a target
    if n <= seq_len:
        raise ValueError(f"fit_tbptt: expected a stream longer than batch_size * (seq_len + 1) "
                         f"= {batch_size * (seq_len + 1)} ids, got {len(ids)}")
    X = ids[:n * batch_size].reshape(batch_size, n)
    Y = ids[1:n * batch_size + 1].reshape(batch_size, n)
    state, losses = None, []
    for s in range(steps):
        pos = (s * seq_len) % (n - seq_len)
        if pos < seq_len or not carry_state:  # a new pass starts from zeros
            state = None
        logits, state = model(X[:, pos:pos + seq_len], state)
        loss = F.cross_entropy(F.reshape(logits, (-1, logits.shape[-1])),
                               Tensor(Y[:, pos:pos + seq_len].reshape(-1)))
        losses.append(_update(loss, optimizer, clip, scheduler))
        if callback is not None:
            callback(s + 1, losses[-1])
    return losses

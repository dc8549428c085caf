"""Continual-learning strategies as hooks around the Trainer step.

A strategy may change the batch (``augment``: Replay mixes in stored examples), add a loss term
(``loss``: EWC's quadratic anchor, LwF's distillation) and update its state between tasks
(``before_task`` / ``after_task``). :func:`~lamina.continual.train_stream` runs several of them
together inside one ``Trainer(step_fn=...)``.
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..errors import check
from ..nn.utils import as_model_dtype

np = B.np

__all__ = ["Strategy", "Naive", "EWC", "LwF", "Replay"]


class Strategy:
    """Base class: every hook does nothing (which is :class:`Naive` fine-tuning).

    Hooks receive the :class:`~lamina.continual.learner.StreamLearner` (``learner.model``,
    ``learner.protocol``, ``learner.masked(out, y)``, ``learner.seen_classes``) and the
    :class:`~lamina.continual.Task`.
    """

    def before_task(self, learner, task) -> None:
        """Called before training on ``task``."""

    def augment(self, learner, x, y):
        """Return the batch to train on (default: unchanged)."""
        return x, y

    def loss(self, learner, x, y, out):
        """An extra loss Tensor added to the cross-entropy, or None (default)."""
        return None

    def after_task(self, learner, task) -> None:
        """Called after training on ``task``."""


class Naive(Strategy):
    """Plain fine-tuning on each task in turn: the baseline that forgets."""


class EWC(Strategy):
    """Elastic weight consolidation (Kirkpatrick et al. 2017), diagonal empirical Fisher.

    After each task, ``F_i = mean_n (d log p(y_n | x_n) / d theta_i)^2`` over up to
    ``fisher_samples`` training examples (one backward pass per example); later tasks add
    ``(lam / 2) * sum_k sum_i F_k,i (theta_i - theta*_k,i)^2`` to the loss.

    Args:
        lam (float): penalty strength lambda. Default 1000.
        fisher_samples (int): examples per task for the Fisher. Default 200.
    """

    def __init__(self, lam: float = 1000.0, fisher_samples: int = 200):
        check(lam >= 0, "EWC", "lam >= 0", repr(lam), cls=ValueError)
        self.lam, self.fisher_samples = float(lam), int(fisher_samples)
        self.anchors: list = []  # (fisher arrays, parameter copies) per finished task

    def fisher(self, learner, task):
        """Diagonal empirical Fisher of the model on ``task``'s data, one array per parameter."""
        model = learner.model
        params = [p for p in model.parameters() if p.requires_grad]
        x = as_model_dtype(model, task.x_train)
        y = np.asarray(task.y_train)
        n = min(len(y), self.fisher_samples)
        idx = B.rng().permutation(len(y))[:n]
        acc = [np.zeros_like(B.to_host(p.array)) for p in params]
        was = model.training
        model.eval()
        try:
            for i in idx:  # per-example gradients: the Fisher is a mean of squared ones
                model.zero_grad()
                out = learner.masked(model(tensor(x[i:i + 1])), y[i:i + 1])
                F.cross_entropy(out, tensor(y[i:i + 1])).backward()
                for a, p in zip(acc, params):
                    if p.grad is not None:
                        a += B.to_host(p.grad.array) ** 2
        finally:
            model.zero_grad()
            model.train(was)
        return [a / max(n, 1) for a in acc]

    def after_task(self, learner, task) -> None:
        fisher = self.fisher(learner, task)
        params = [p for p in learner.model.parameters() if p.requires_grad]
        self.anchors.append((fisher, [B.to_host(p.array).copy() for p in params]))

    def loss(self, learner, x, y, out):
        if not self.anchors or self.lam == 0:
            return None
        params = [p for p in learner.model.parameters() if p.requires_grad]
        total = None
        for fisher, star in self.anchors:
            for p, f, s in zip(params, fisher, star):
                term = (tensor(f.astype(p.dtype)) * (p - tensor(s)) ** 2).sum()
                total = term if total is None else total + term
        return total * (self.lam / 2)


class LwF(Strategy):
    """Learning without forgetting (Li & Hoiem 2017): distil the previous model's outputs on
    the old classes into the current one while it learns the new task.

    Adds ``alpha * T^2 * KL(softmax(z_old / T) || softmax(z / T))`` over the columns of the
    classes seen before the current task (a frozen copy of the model made before each task
    gives ``z_old``).

    Args:
        alpha (float): weight of the distillation term. Default 1.0.
        temperature (float): T. Default 2.0.
    """

    def __init__(self, alpha: float = 1.0, temperature: float = 2.0):
        self.alpha, self.temperature = float(alpha), float(temperature)
        self.teacher, self.old = None, []

    def before_task(self, learner, task) -> None:
        self.old = sorted(learner.seen_classes)
        self.teacher = copy.deepcopy(learner.model).eval() if self.old else None

    def loss(self, learner, x, y, out):
        if self.teacher is None:
            return None
        cols = tensor(np.asarray(self.old, dtype=np.int64))
        T = self.temperature
        with no_grad():
            target = F.softmax(self.teacher(x)[:, cols] * (1.0 / T), dim=1)
        logq = F.log_softmax(out[:, cols] * (1.0 / T), dim=1)
        kl = (target * (F.log(F.clip(target, 1e-12, None)) - logq)).sum(dim=1).mean()
        return kl * (self.alpha * T * T)


class Replay(Strategy):
    """Experience replay: keep a small memory of past examples and train on them together
    with each new batch.

    Args:
        per_class (int, optional): keep this many random examples of every class seen
            (class-balanced memory, e.g. 20). Default None.
        buffer_size (int): reservoir memory of this many examples over the whole stream
            (Vitter's algorithm R, every example equally likely to stay), used when
            ``per_class`` is None. Default 200.
        batch_size (int, optional): replayed examples per step. Default: the batch's size.

    Attributes:
        x, y: the memory's arrays (None before the first task ends).
    """

    def __init__(self, per_class: int | None = None, buffer_size: int = 200,
                 batch_size: int | None = None):
        check(per_class is None or per_class >= 1, "Replay", "per_class >= 1 or None",
              repr(per_class), cls=ValueError)
        check(buffer_size >= 1, "Replay", "buffer_size >= 1", repr(buffer_size), cls=ValueError)
        self.per_class, self.buffer_size, self.batch_size = per_class, int(buffer_size), batch_size
        self._x = self._y = None
        self.n_seen = 0

    @property
    def x(self):
        """Stored inputs (None before the first task ends)."""
        return None if self._x is None else self._x[:self._filled()]

    @property
    def y(self):
        """Stored labels (None before the first task ends)."""
        return None if self._y is None else self._y[:self._filled()]

    def _filled(self) -> int:
        return len(self._y) if self.per_class is not None else min(self.n_seen,
                                                                    self.buffer_size)

    def after_task(self, learner, task) -> None:
        x, y = np.asarray(task.x_train), np.asarray(task.y_train)
        rng = B.rng()
        if self.per_class is not None:
            keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:self.per_class]
                                   for c in np.unique(y)])
            xs, ys = x[keep], y[keep]
            self._x = xs if self._x is None else np.concatenate([self._x, xs])
            self._y = ys if self._y is None else np.concatenate([self._y, ys])
            self.n_seen += len(y)
            return
        order = rng.permutation(len(y))  # the task's examples arrive in random order
        x, y = x[order], y[order]
        if self._x is None:
            self._x = np.empty((self.buffer_size, *x.shape[1:]), x.dtype)
            self._y = np.empty((self.buffer_size,), y.dtype)
        pos = self.n_seen + np.arange(len(y))  # global arrival index of each example
        fill = pos < self.buffer_size
        self._x[pos[fill]], self._y[pos[fill]] = x[fill], y[fill]
        # algorithm R: arrival n replaces a uniform slot in [0, n] when that slot is in memory
        slot = np.floor(rng.random(len(y)) * (pos + 1)).astype(np.int64)
        take = (~fill) & (slot < self.buffer_size)
        self._x[slot[take]], self._y[slot[take]] = x[take], y[take]  # later arrivals win
        self.n_seen += len(y)

    def augment(self, learner, x, y):
        if self.x is None or len(self.y) == 0:
            return x, y
        k = self.batch_size or len(y.array)
        idx = B.rng().integers(0, len(self.y), k)
        xr = tensor(self.x[idx].astype(x.dtype))
        yr = tensor(self.y[idx].astype(y.array.dtype))
        return F.cat([x, xr], dim=0), F.cat([y, yr], dim=0)

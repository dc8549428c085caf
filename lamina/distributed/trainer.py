"""Training on many ranks with the ordinary Trainer: rank-0 output, LR scaling and warm-up.

Only rank 0 prints, shows the progress bar and writes the (atomic) checkpoint; the other ranks
wait at a barrier after it, so every rank resumes from a complete file. Relaunching with
``resume`` restores model, optimizer, schedule, RNG and loader position on every rank from rank
0's checkpoint, which continues exactly as the uninterrupted run when every rank was seeded
alike (``lamina.manual_seed(seed)`` on every rank: their RNG streams are then identical).
"""

from __future__ import annotations

import functools
import math

from ..optim.lr_scheduler import LambdaLR
from ..train import Trainer
from . import comm

__all__ = ["DistributedTrainer", "is_rank_zero", "rank_zero_only", "rank_zero_print",
           "scale_lr", "warmup_scheduler"]


def is_rank_zero() -> bool:
    """True on rank 0 (and in a single process)."""
    return comm.rank() == 0


def rank_zero_only(fn):
    """Decorator: call ``fn`` on rank 0 only (other ranks get None)."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        return fn(*args, **kwargs) if is_rank_zero() else None
    return wrapped


@rank_zero_only
def rank_zero_print(*args, **kwargs) -> None:
    """``print`` on rank 0 only."""
    print(*args, **kwargs, flush=True)


def scale_lr(lr: float, world: int | None = None, rule: str = "linear") -> float:
    """The learning rate for a global batch ``world`` times larger (Goyal et al., 2017).

    Args:
        lr (float): the single-process learning rate.
        world (int, optional): number of ranks. Default: ``world_size()``.
        rule (str): ``"linear"`` (``lr * world``, Horovod's rule) or ``"sqrt"``
            (``lr * sqrt(world)``, often better for Adam). Default ``"linear"``.

    Returns:
        float: the scaled learning rate.
    """
    world = comm.world_size() if world is None else int(world)
    if rule not in ("linear", "sqrt"):
        raise ValueError(f"scale_lr: expected rule 'linear' or 'sqrt', got {rule!r}")
    return lr * (world if rule == "linear" else math.sqrt(world))


def warmup_scheduler(optimizer, warmup_steps: int, start_factor: float | None = None):
    """Linear warm-up from ``start_factor * lr`` to ``lr`` over ``warmup_steps`` optimizer
    steps, then constant (step it every batch: ``Trainer(scheduler_interval="step")``).

    Args:
        optimizer: whose ``lr`` is the scaled target (see :func:`scale_lr`).
        warmup_steps (int): >= 1.
        start_factor (float, optional): Default ``1 / world_size()`` (start at the
            single-process rate, as Goyal et al.).

    Returns:
        LambdaLR: the scheduler.
    """
    if warmup_steps < 1:
        raise ValueError(f"warmup_scheduler: expected warmup_steps >= 1, got {warmup_steps}")
    f0 = 1.0 / comm.world_size() if start_factor is None else float(start_factor)
    return LambdaLR(optimizer, lambda s: f0 + (1.0 - f0) * min(s, warmup_steps) / warmup_steps)


class DistributedTrainer(Trainer):
    """:class:`~lamina.train.Trainer` for a :class:`DistributedDataParallel` model.

    Same arguments as ``Trainer``. ``fit`` silences the progress bar off rank 0 and runs
    ``rank_zero_callbacks`` (loggers, TensorBoard...) on rank 0 only; ``callbacks`` run
    everywhere (EarlyStopping must, so all ranks stop together). Checkpoints are written by
    rank 0 alone, followed by a barrier. Epoch metrics are those of each rank's shard.

    Example:
        >>> trainer = DistributedTrainer(DDP(model), opt, F.cross_entropy)
        >>> trainer.fit(loader, epochs=5, checkpoint="ckpt.safetensors", resume=True)
    """

    def fit(self, train, epochs: int = 1, validation=None, callbacks=(), verbose: int = 1,
            rank_zero_callbacks=(), **kwargs):
        """``Trainer.fit`` with rank-0-only output; see the class docstring.

        Args:
            rank_zero_callbacks (sequence): callbacks run on rank 0 only. Default ().
            **kwargs: the other ``Trainer.fit`` arguments.

        Returns:
            History.
        """
        cbs = list(callbacks) + (list(rank_zero_callbacks) if is_rank_zero() else [])
        return super().fit(train, epochs, validation, cbs, verbose if is_rank_zero() else 0,
                           **kwargs)

    def save_checkpoint(self, path, extra=None) -> None:
        if is_rank_zero():
            super().save_checkpoint(path, extra)
        comm.barrier()

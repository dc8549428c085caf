"""Knowledge distillation (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural
Network", 2015): a small student learns from a teacher's softened outputs.

``loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``; the
``T^2`` keeps the soft term's gradients on the scale of the hard term's as ``T`` grows.
``distillation_step`` is a ``Trainer`` step: the teacher's logits come from a cache (an array
indexed by the batch's sample ids) or from the teacher run in eval mode under ``no_grad``.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn.module import Module
from ..optim import clip_grad_norm_

np = B.np

__all__ = ["DistillationLoss", "distillation_step", "make_distillation_step"]


class DistillationLoss(Module):
    """Hinton-style distillation loss.

    Args:
        T (float): temperature (> 0). Default 4.0.
        alpha (float): weight of the soft (teacher) term in [0, 1]. Default 0.9.

    Shape:
        ``student_logits (N, C)``, ``teacher_logits (N, C)``, ``target (N,)`` int -> scalar.
    """

    def __init__(self, T: float = 4.0, alpha: float = 0.9):
        super().__init__()
        check(T > 0, "DistillationLoss", "T > 0", f"T={T}", cls=ValueError)
        check(0.0 <= alpha <= 1.0, "DistillationLoss", "alpha in [0, 1]", f"alpha={alpha}",
              cls=ValueError)
        self.T, self.alpha = float(T), float(alpha)

    def forward(self, student_logits, teacher_logits, target=None):
        """The loss (a scalar Tensor); ``target`` may be None when ``alpha == 1``."""
        check(tuple(student_logits.shape) == tuple(teacher_logits.shape), "DistillationLoss",
              "student and teacher logits of the same shape",
              f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
        T = self.T
        log_p_s = F.log_softmax(student_logits / T, dim=-1)
        p_t = F.softmax(teacher_logits.detach() / T, dim=-1)
        log_p_t = F.log_softmax(teacher_logits.detach() / T, dim=-1)
        n = student_logits.shape[0]
        kl = F.sum(p_t * (log_p_t - log_p_s)) / float(n)
        loss = kl * (self.alpha * T * T)
        if self.alpha < 1.0:
            check(target is not None, "DistillationLoss", "a target when alpha < 1", "None")
            loss = loss + F.cross_entropy(student_logits, target) * (1.0 - self.alpha)
        return loss


def make_distillation_step(teacher, loss: DistillationLoss | None = None, cache=None):
    """A ``Trainer`` step function distilling ``teacher`` into ``trainer.model``.

    Args:
        teacher (Module or None): run in eval mode under ``no_grad`` on each batch (its
            train/eval mode is restored). None when ``cache`` is given.
        loss (DistillationLoss): Default ``DistillationLoss()``.
        cache (array, optional): precomputed teacher logits ``(N_train, C)``; batches must
            then be ``(x, y, index)`` with ``index`` the samples' rows.

    Returns:
        callable: ``step(trainer, batch) -> dict`` for ``Trainer(step_fn=...)``.
    """
    loss_fn = loss or DistillationLoss()
    check(teacher is not None or cache is not None, "make_distillation_step",
          "a teacher or cached logits", "neither")

    def step(trainer, batch):
        x, y = batch[0], batch[1]
        if cache is not None:
            idx = batch[2].array if isinstance(batch[2], Tensor) else np.asarray(batch[2])
            t_logits = Tensor(np.asarray(cache)[idx.astype(np.int64)])
        else:
            was = teacher.training
            teacher.eval()
            with no_grad():
                t_logits = teacher(x)
            teacher.train(was)
        opt = trainer.optimizer
        opt.zero_grad()
        out = trainer.model(x)
        value = loss_fn(out, t_logits, y)
        value.backward()
        if trainer.grad_clip is not None:
            clip_grad_norm_(trainer.model.parameters(), trainer.grad_clip)
        opt.step()
        return {"loss": value.item(), "y_pred": out.array, "y_true": y.array}
    return step


def distillation_step(trainer, batch):
    """The step for ``Trainer(step_fn=distillation_step)`` with ``trainer.teacher`` set (and
    optionally ``trainer.distillation_loss``): see :func:`make_distillation_step`."""
    fn = getattr(trainer, "_distill_fn", None)
    if fn is None:
        fn = make_distillation_step(trainer.teacher, getattr(trainer, "distillation_loss", None))
        trainer._distill_fn = fn
    return fn(trainer, batch)

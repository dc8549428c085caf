"""Defensive distillation (Papernot et al. 2016) and the temperature wrapper that breaks it.

The student is trained on the teacher's softmax at temperature ``T`` and deployed at ``T = 1``:
its logits grow by about ``T``, the softmax saturates and cross-entropy gradients vanish in
float32, so gradient attacks *look* defeated. Attacking ``TemperatureScaled(student, T)`` (or
with a margin loss, as Carlini & Wagner did) restores the gradients and the attack succeeds.
"""

from __future__ import annotations

from ... import functional as F
from ...autograd import Tensor
from ...errors import check
from ...nn.module import Module
from ...optim import Adam
from ...train.step import split_batch
from ...train.trainer import Trainer
from .._util import as_array, logits_of

__all__ = ["defensive_distillation", "TemperatureScaled"]


class TemperatureScaled(Module):
    """``model(x) / T``: the logits a distilled model was trained with.

    Args:
        model (Module): the wrapped network.
        T (float): temperature. Default 1.0.

    Shape:
        as ``model``.
    """

    def __init__(self, model, T: float = 1.0):
        super().__init__()
        check(T > 0, "TemperatureScaled", "T > 0", f"T={T}")
        self.model, self.T = model, float(T)

    def forward(self, x):
        return self.model(x) / self.T


def defensive_distillation(teacher, student, x, T: float = 20.0, epochs: int = 10,
                           lr: float = 1e-3, batch_size: int = 64, verbose: int = 0):
    """Train ``student`` on ``softmax(teacher(x) / T)`` with its own logits divided by ``T``.

    Args:
        teacher (Module): a trained model (ideally itself trained at temperature ``T``).
        student (Module): the network to distil into (trained in place).
        x (Tensor or array): training inputs ``(N, ...)``.
        T (float): distillation temperature. Default 20 (the paper's MNIST choice is 100).
        epochs (int): training epochs. Default 10.
        lr (float): Adam learning rate. Default 1e-3.
        batch_size (int): mini-batch size. Default 64.
        verbose (int): Trainer verbosity. Default 0.

    Returns:
        Module: ``student``, deployed at temperature 1 (the defence as published).
    """
    check(T > 0, "defensive_distillation", "T > 0", f"T={T}")
    xa = as_array(x)
    soft = F.softmax(Tensor(logits_of(teacher, xa, 512)) / T, axis=1).array
    hot = TemperatureScaled(student, T)

    def step(trainer, batch):
        xb, pb = split_batch(batch)
        trainer.optimizer.zero_grad()
        out = hot(xb)
        loss = F.cross_entropy(out, pb)
        loss.backward()
        trainer.optimizer.step()
        return {"loss": loss.item()}

    Trainer(student, Adam(student.parameters(), lr=lr), metrics=(), step_fn=step).fit(
        (xa, soft), epochs=epochs, batch_size=batch_size, verbose=verbose)
    return student.eval()

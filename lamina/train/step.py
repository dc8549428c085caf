"""The replaceable batch step and the helpers a custom one needs.

``step_fn(trainer, batch) -> dict`` does one optimisation step. The returned dict's numbers are
averaged over the epoch (weighted by batch size) into the logs; ``y_pred``/``y_true`` arrays, when
present, are collected for the epoch's metrics. A GAN or RL loop passes its own step function to
``Trainer(step_fn=...)`` and keeps callbacks, logging and checkpoints.
"""

from __future__ import annotations

from ..errors import DTypeError
from ..nn.compiled import compile as compile_fn
from ..nn.module import Module
from ..optim import clip_grad_norm_

__all__ = ["default_step", "split_batch", "compute_loss", "compiled_forward"]


def split_batch(batch):
    """``(x, y)`` from a batch: a tuple/list gives its first two fields, anything else is
    ``(batch, None)``."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def compute_loss(trainer, outputs, targets):
    """``trainer.loss_fn(outputs, targets)``, checked to stay in the parameters' dtype (a
    float64 input or constant would silently upcast the whole step)."""
    loss = trainer.loss_fn(outputs, targets)
    want = trainer.param_dtype
    if want is not None and loss.dtype != want:
        raise DTypeError(f"Trainer step: expected a {want} loss (the parameters' dtype), got "
                         f"{loss.dtype}; cast inputs/targets to {want} (a float64 array or "
                         "constant upcasts the graph)")
    return loss


def compiled_forward(trainer):
    """``(x, y) -> (outputs, loss)`` of ``trainer``'s model and loss through
    :func:`lamina.compile`, made once per loss function (``fit`` may wrap the loss)."""
    c = trainer._compiled
    if c is None or c[0] is not trainer.loss_fn:
        def forward_loss(x, y):
            out = trainer.model(x)
            return out, compute_loss(trainer, out, y)
        mods = [trainer.model] + ([trainer.loss_fn] if isinstance(trainer.loss_fn, Module)
                                  else [])
        c = trainer._compiled = (trainer.loss_fn, compile_fn(forward_loss, modules=mods))
    return c[1]


def default_step(trainer, batch) -> dict:
    """One supervised step: zero_grad, forward, loss, backward, optional clipping, step.

    Args:
        trainer (Trainer): provides ``model``, ``optimizer``, ``loss_fn`` and ``grad_clip``.
        batch: ``(x, y)`` Tensors from the loader.

    Returns:
        dict: ``loss`` (float), ``y_pred`` (the outputs' array) and ``y_true`` (targets).
    """
    x, y = split_batch(batch)
    opt = trainer.optimizer
    opt.zero_grad()
    if getattr(trainer, "compile", False):
        out, loss = compiled_forward(trainer)(x, y)
    else:
        out = trainer.model(x)
        loss = compute_loss(trainer, out, y)
    loss.backward()
    if trainer.grad_clip is not None:
        clip_grad_norm_(trainer.model.parameters(), trainer.grad_clip)
    opt.step()
    return {"loss": loss.item(), "y_pred": out.array, "y_true": None if y is None else y.array}

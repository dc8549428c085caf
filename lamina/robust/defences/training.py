"""Adversarial training as a replaceable ``Trainer`` step: Madry et al.'s PGD training, Wong et
al.'s "fast" FGSM with a random start, and TRADES (Zhang et al. 2019) with its beta.

``Trainer(model, opt, F.cross_entropy, step_fn=adversarial_training("pgd", eps=0.3))`` keeps the
trainer's callbacks, logging and checkpoints; only the batch step changes.
"""

from __future__ import annotations

from ... import backend as B
from ... import functional as F
from ...autograd import Tensor, no_grad
from ...errors import check
from ...optim import clip_grad_norm_
from ...train.step import compute_loss, split_batch
from .._util import frozen
from ..attacks.gradient import PGD

np = B.np

__all__ = ["adversarial_training", "trades_loss", "METHODS"]

METHODS = ("pgd", "fast", "trades")


def _kl_to(clean_log_probs):
    """``loss_fn(logits, _)`` = batch-mean KL(p_clean || p(logits)) for TRADES' inner max."""
    def fn(out, _y):
        return F.kl_div(F.log_softmax(out, axis=1), clean_log_probs, reduction="batchmean",
                        log_target=True)
    return fn


def trades_loss(model, x, y, eps, alpha, steps, beta=6.0, clip_min=0.0, clip_max=1.0):
    """TRADES: ``CE(f(x), y) + beta * KL(f(x) || f(x'))``, ``x'`` from ``steps`` of sign-PGD
    on the KL starting at ``x + 0.001 * N(0, 1)`` (the authors' code).

    Args:
        model (Module): in training mode (it is run in eval mode for the inner maximisation).
        x (Tensor): clean inputs ``(N, ...)``; y (Tensor): labels ``(N,)``.
        eps, alpha (float): L-inf budget and step; steps (int): inner steps.
        beta (float): robustness weight. Default 6.0.
        clip_min, clip_max (float): input range. Default 0, 1.

    Returns:
        tuple: ``(loss Tensor, clean logits Tensor)``.
    """
    xa = x.array
    with frozen(model):
        with no_grad():
            clean_lp = F.log_softmax(model(x), axis=1).detach()
        start = xa + (0.001 * B.rng().standard_normal(xa.shape)).astype(xa.dtype)
        atk = PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=False,
                  loss_fn=_kl_to(clean_lp), clip_min=clip_min, clip_max=clip_max)
        x_adv = atk.run_once_from(xa, B.get_array_module(xa).clip(start, clip_min, clip_max),
                                  y.array)
    out = model(x)
    adv_lp = F.log_softmax(model(Tensor(x_adv)), axis=1)
    robust = F.kl_div(adv_lp, F.log_softmax(out, axis=1), reduction="batchmean",
                      log_target=True)
    return F.cross_entropy(out, y) + beta * robust, out


def adversarial_training(method: str = "pgd", eps: float = 0.3, alpha: float | None = None,
                         steps: int = 10, beta: float = 6.0, clip_min: float = 0.0,
                         clip_max: float = 1.0):
    """A ``Trainer`` step function that trains on adversarial examples.

    Args:
        method (str): ``'pgd'`` (Madry: PGD from a random start, train on x_adv), ``'fast'``
            (one FGSM step of 1.25·eps from a uniform random start, Wong et al. 2020) or
            ``'trades'`` (clean CE + beta·KL to the adversarial prediction). Default ``'pgd'``.
        eps (float): L-inf budget. Default 0.3 (MNIST's).
        alpha (float, optional): step size; default ``2.5 * eps / steps`` (Madry), or
            ``1.25 * eps`` for ``'fast'``.
        steps (int): attack steps (ignored by ``'fast'``). Default 10.
        beta (float): TRADES weight. Default 6.0.
        clip_min, clip_max (float): input range. Default 0, 1.

    Returns:
        callable: ``step_fn(trainer, batch) -> dict`` with ``loss``, ``y_pred`` (outputs on the
        adversarial batch, or clean for TRADES) and ``y_true``.

    Example:
        >>> step = adversarial_training("pgd", eps=0.1, steps=7)
        >>> Trainer(model, Adam(model.parameters()), "cross_entropy", step_fn=step).fit(...)
    """
    check(method in METHODS, "adversarial_training", f"method in {METHODS}", repr(method))
    check(eps >= 0 and steps >= 1, "adversarial_training", "eps >= 0 and steps >= 1",
          f"eps={eps}, steps={steps}")
    if alpha is None:
        alpha = 1.25 * eps if method == "fast" else 2.5 * eps / steps

    def step(trainer, batch) -> dict:
        x, y = split_batch(batch)
        model, opt = trainer.model, trainer.optimizer
        if method == "trades":
            loss, out = trades_loss(model, x, y, eps, alpha, steps, beta, clip_min, clip_max)
        else:
            atk = PGD(model, eps=eps, alpha=alpha, steps=1 if method == "fast" else steps,
                      random_start=True, clip_min=clip_min, clip_max=clip_max)
            x_adv = atk(x, y)
            out = model(x_adv)
            loss = compute_loss(trainer, out, y)
        opt.zero_grad()
        loss.backward()
        if trainer.grad_clip is not None:
            clip_grad_norm_(model.parameters(), trainer.grad_clip)
        opt.step()
        return {"loss": loss.item(), "y_pred": out.array,
                "y_true": None if y is None else y.array}

    step.method, step.eps = method, eps
    return step

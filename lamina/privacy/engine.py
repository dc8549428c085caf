"""``make_private``: model, optimizer and loader for DP-SGD, and the Trainer pieces.

:func:`make_private` wraps the model in a :class:`~lamina.privacy.GradSampleModule`, the
optimizer in a :class:`~lamina.privacy.DPOptimizer` and rebuilds the loader with a
:class:`~lamina.privacy.PoissonSampler`; given a target epsilon it picks the noise multiplier
with :func:`~lamina.privacy.get_noise_multiplier`. :func:`dp_step` is a ``Trainer`` step that
handles Poisson's empty batches; :class:`PrivacyMeter` logs epsilon every epoch into the
History and onto the progress bar.
"""

from __future__ import annotations

from .. import backend as B
from ..data.loader import DataLoader
from ..errors import check
from ..train.callbacks.base import Callback
from ..train.step import compute_loss, split_batch
from .accountant import ACCOUNTANTS, HistoryAccountant, _accountant, get_noise_multiplier
from .grad_sample import GradSampleModule
from .optimizer import DPOptimizer, PoissonSampler

__all__ = ["make_private", "dp_step", "PrivacyMeter"]

np = B.np


def make_private(model, optimizer, loader, *, target_epsilon: float | None = None,
                 target_delta: float = 1e-5, epochs: int | None = None,
                 noise_multiplier: float | None = None, max_grad_norm: float = 1.0,
                 poisson_sampling: bool = True, accountant: str = "rdp", seed=None,
                 ghost: bool = True):
    """Make a model, its optimizer and its loader differentially private (DP-SGD).

    Args:
        model (Module): supported layers only (see :func:`~lamina.privacy.supported_layers`).
        optimizer (Optimizer): over ``model.parameters()``.
        loader (DataLoader): the training loader; its dataset and batch size are reused.
        target_epsilon (float, optional): the budget after ``epochs``; picks sigma.
        target_delta (float): delta of the budget. Default 1e-5.
        epochs (int, optional): needed with ``target_epsilon``.
        noise_multiplier (float, optional): sigma directly (instead of ``target_epsilon``).
        max_grad_norm (float): per-example clipping norm. Default 1.0.
        poisson_sampling (bool): rebuild the loader with a :class:`PoissonSampler` (the
            sampling the accountant assumes). Default True.
        accountant (str): ``"rdp"`` (default, :class:`~lamina.privacy.RDPAccountant`) or
            ``"prv"`` (:class:`~lamina.privacy.PRVAccountant`, tighter), as Opacus'
            ``PrivacyEngine(accountant=...)``; used both to pick sigma and to track the run.
        seed (int, optional): the sampler's seed; None draws one from ``lamina.backend.rng()``.
        ghost (bool): ghost clipping for Linear layers (same update, no ``(N, out, in)``
            per-example arrays; see :class:`~lamina.privacy.GradSampleModule`). Default True.

    Returns:
        ``(GradSampleModule, DPOptimizer, DataLoader)``; the optimizer's ``accountant``
        tracks the budget (``optimizer.accountant.get_epsilon(delta)``).

    Example:
        >>> model, opt, loader = make_private(model, SGD(model.parameters(), 0.5), loader,
        ...                                   target_epsilon=3.0, target_delta=1e-5, epochs=20)
    """
    check(accountant in ACCOUNTANTS, "make_private", f"accountant in {ACCOUNTANTS}",
          repr(accountant), cls=ValueError)
    check((target_epsilon is None) != (noise_multiplier is None), "make_private",
          "exactly one of target_epsilon= or noise_multiplier=",
          f"target_epsilon={target_epsilon}, noise_multiplier={noise_multiplier}",
          cls=ValueError)
    n, bs = len(loader.dataset), loader.batch_size
    check(bs is not None and bs >= 1, "make_private", "a loader with a batch_size",
          repr(bs), cls=ValueError)
    q = bs / n
    if target_epsilon is not None:
        check(epochs is not None and epochs >= 1, "make_private",
              "epochs >= 1 with target_epsilon", repr(epochs), cls=ValueError)
        steps = epochs * (len(PoissonSampler(n, q, seed=0)) if poisson_sampling
                          else len(loader))  # the steps the run will really take
        noise_multiplier = get_noise_multiplier(target_epsilon=target_epsilon,
                                                target_delta=target_delta, sample_rate=q,
                                                steps=steps, accountant=accountant)
    if poisson_sampling:
        loader = DataLoader(loader.dataset, batch_sampler=PoissonSampler(n, q, seed=seed),
                            transform=loader.transform)
    acc = _accountant(accountant)
    dp = DPOptimizer(optimizer, noise_multiplier, max_grad_norm, expected_batch_size=bs,
                     accountant=acc, sample_rate=q)
    dp.target_delta = target_delta
    gsm = model if isinstance(model, GradSampleModule) else GradSampleModule(model, ghost=ghost)
    return gsm, dp, loader


def dp_step(trainer, batch) -> dict:
    """A ``Trainer(step_fn=...)`` DP-SGD step; an empty Poisson batch is a noise-only step.

    Args:
        trainer (Trainer): with a GradSampleModule model and a DPOptimizer.
        batch: ``(x, y)``.

    Returns:
        dict: ``loss`` (NaN for an empty batch), ``y_pred``, ``y_true``.
    """
    x, y = split_batch(batch)
    opt = trainer.optimizer
    opt.zero_grad()
    if len(x) == 0:
        opt.step()
        return {}
    out = trainer.model(x)
    loss = compute_loss(trainer, out, y)
    loss.backward()
    opt.step()
    return {"loss": loss.item(), "y_pred": out.array, "y_true": None if y is None else y.array}


class PrivacyMeter(Callback):
    """Log the epsilon spent (at ``delta``) after every epoch as ``logs["epsilon"]``: in the
    History (``history["epsilon"]``) and on the progress bar line.

    Args:
        accountant (HistoryAccountant, optional): default: the trainer's optimizer's
            accountant.
        delta (float, optional): default: the optimizer's ``target_delta``, else 1e-5.
    """

    def __init__(self, accountant: HistoryAccountant | None = None,
                 delta: float | None = None):
        self.accountant, self.delta = accountant, delta

    def _eps(self) -> float:
        opt = self.trainer.optimizer
        acc = self.accountant or getattr(opt, "accountant", None)
        check(acc is not None, "PrivacyMeter", "an accountant (given, or the optimizer's)",
              "none", cls=ValueError)
        delta = self.delta or getattr(opt, "target_delta", 1e-5)
        return float(acc.get_epsilon(delta))

    def on_epoch_end(self, epoch, logs=None):
        eps = self._eps()
        if logs is not None:
            logs["epsilon"] = eps
        h = self.trainer.history
        vals = h.history.setdefault("epsilon", [float("nan")] * (len(h.epoch) - 1))
        if len(vals) < len(h.epoch):
            vals.append(eps)
        else:
            vals[-1] = eps

"""Black-box attacks: Square (Andriushchenko et al. 2020, score-based, L-inf, after
torchattacks 3.5.1, queries counted) and ``TransferAttack`` (craft on a surrogate, evaluate on
the target)."""

from __future__ import annotations

import math

from ... import backend as B
from ...errors import check
from .._util import logits_of
from .base import Attack

np = B.np

__all__ = ["Square", "TransferAttack"]


def _p_selection(p_init, it, n_queries, rescale=True):
    if rescale:
        it = int(it / n_queries * 10000)
    for bound, div in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
                       (4000, 64), (6000, 128), (8000, 256)):
        if it <= bound:
            return p_init / div
    return p_init / 512


class Square(Attack):
    """Square attack: random square-shaped ±2·eps updates at the border of the L-inf ball,
    kept when the margin loss drops. Uses only the model's scores (no gradients).

    Args:
        model (Module): logits model.
        eps (float): L-inf budget. Default 8/255.
        n_queries (int): query budget per sample. Default 5000.
        n_restarts (int): restarts on the still-correct samples. Default 1.
        p_init (float): initial fraction of pixels changed. Default 0.8.
        loss (str): ``'margin'`` or ``'ce'``. Default ``'margin'``.
        resc_schedule (bool): rescale the p schedule to ``n_queries``. Default True.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Attributes:
        queries (array): after a call, model queries spent per sample ``(N,)``.
    """

    def __init__(self, model, eps=8 / 255, n_queries=5000, n_restarts=1, p_init=0.8,
                 loss="margin", resc_schedule=True, clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        check(loss in ("margin", "ce"), "Square", "loss 'margin' or 'ce'", repr(loss))
        self.eps, self.n_queries, self.n_restarts = eps, int(n_queries), int(n_restarts)
        self.p_init, self.loss, self.resc_schedule = p_init, loss, bool(resc_schedule)
        self.queries = None

    def _margin_loss(self, x, y):
        z = logits_of(self.model, x)
        xp = B.get_array_module(z)
        ar = xp.arange(len(z))
        corr = z[ar, y].copy()
        zo = z.copy()
        zo[ar, y] = -xp.inf
        others = zo.max(axis=1)
        margin = (others - corr) if self.targeted else (corr - others)
        if self.loss == "margin":
            return margin, margin
        m = z.max(axis=1, keepdims=True)
        xent = xp.log(xp.exp(z - m).sum(axis=1)) + m[:, 0] - corr
        return margin, (xent if self.targeted else -xent)

    def _single_run(self, x, y, queries):
        xp = B.get_array_module(x)
        rng = B.rng()
        c, h, w = x.shape[1:]
        n_feat = c * h * w

        def sign(shape):
            return xp.asarray(2.0 * rng.integers(0, 2, size=shape) - 1.0).astype(x.dtype)
        x_best = self.clip(x + self.eps * sign((len(x), c, 1, w)))
        margin_min, loss_min = self._margin_loss(x_best, y)
        queries += 1
        for it in range(self.n_queries):
            idx = xp.nonzero(margin_min > 0.0)[0]
            if len(idx) == 0:
                break
            xc, xb = x[idx], x_best[idx]
            p = _p_selection(self.p_init, it, self.n_queries, self.resc_schedule)
            s = min(max(int(round(math.sqrt(p * n_feat / c))), 1), h - 1)
            vh, vw = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            new = xp.zeros((c, h, w), dtype=x.dtype)
            new[:, vh:vh + s, vw:vw + s] = 2.0 * self.eps * sign((c, 1, 1))
            x_new = self.clip(xp.minimum(xp.maximum(xb + new, xc - self.eps), xc + self.eps))
            margin, loss = self._margin_loss(x_new, y[idx])
            improved = loss < loss_min[idx]
            loss_min[idx] = xp.where(improved, loss, loss_min[idx])
            improved = improved | (margin <= 0.0)
            margin_min[idx] = xp.where(improved, margin, margin_min[idx])
            x_best[idx] = xp.where(improved.reshape(-1, 1, 1, 1), x_new, xb)
            queries[idx] += 1
        return x_best, margin_min

    def perturb(self, x, y):
        check(x.ndim == 4, "Square", "images (N, C, H, W)", f"shape {tuple(x.shape)}")
        xp = B.get_array_module(x)
        adv = x.copy()
        queries = xp.zeros(len(x))
        pred = logits_of(self.model, x).argmax(axis=1)
        todo = (pred != y) if self.targeted else (pred == y)
        for _ in range(self.n_restarts):
            idx = xp.nonzero(todo)[0]
            if len(idx) == 0:
                break
            q = xp.zeros(len(idx))
            best, margin = self._single_run(x[idx], y[idx], q)
            queries[idx] += q
            done = margin <= 0.0
            adv[idx[done]] = best[done]
            todo[idx[done]] = False
        self.queries = queries
        return adv


class TransferAttack:
    """Black-box transfer: craft with ``attack`` (built on a surrogate model), return the
    examples for the target model (which is never queried while crafting).

    Args:
        surrogate (Module): a model trained separately on the same task.
        attack (Attack or type): an attack instance bound to ``surrogate``, or an attack class
            built as ``attack(surrogate, **kwargs)``.
        **kwargs: arguments for the attack class.

    Example:
        >>> adv = TransferAttack(surrogate, PGD, eps=0.2, steps=20)(images, labels)
        >>> (target(adv).argmax(1) == labels).mean()    # transfer accuracy
    """

    def __init__(self, surrogate, attack, **kwargs):
        self.surrogate = surrogate
        self.attack = attack(surrogate, **kwargs) if isinstance(attack, type) else attack
        check(self.attack.model is surrogate, "TransferAttack",
              "an attack bound to the surrogate model", "an attack on another model")
        self.eps = getattr(self.attack, "eps", None)

    def __call__(self, images, labels=None):
        """Adversarial examples crafted on the surrogate (see :meth:`Attack.__call__`)."""
        return self.attack(images, labels)

    def __repr__(self) -> str:
        return f"TransferAttack({self.attack!r})"

"""Gradient attacks, ported line by line from torchattacks 3.5.1 (same defaults and update
rules): FGSM, BIM (I-FGSM), PGD (L-inf, with restarts), PGDL2, MIFGSM, and EOTPGD (PGD on the
expectation over a randomized model, the adaptive attack for randomized defences)."""

from __future__ import annotations

from ... import backend as B
from ...errors import check
from .._util import bshape, ce_loss, flat_norm, input_grad, logits_of
from .base import Attack

np = B.np

__all__ = ["FGSM", "BIM", "PGD", "PGDL2", "MIFGSM", "EOTPGD"]


def _positive(name, **vals):
    for k, v in vals.items():
        check(v >= 0, name, f"{k} >= 0", f"{k}={v}")


class FGSM(Attack):
    """Fast gradient sign method (Goodfellow et al. 2015): ``clip(x + eps * sign(grad L))``.

    Args:
        model (Module): logits model.
        eps (float): L-inf budget. Default 8/255.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Shape:
        images ``(N, ...)``, labels ``(N,)`` -> ``(N, ...)``.

    Example:
        >>> adv = FGSM(model, eps=0.1)(images, labels)
    """

    def __init__(self, model, eps=8 / 255, clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        _positive("FGSM", eps=eps)
        self.eps = eps

    def perturb(self, x, y):
        g, _, _ = input_grad(self.model, x, ce_loss(y, -1.0 if self.targeted else 1.0))
        return self.clip(x + self.eps * B.get_array_module(g).sign(g))


class BIM(Attack):
    """Basic iterative method / I-FGSM (Kurakin et al. 2017), torchattacks' clipping order.

    Args:
        model (Module): logits model.
        eps (float): L-inf budget. Default 8/255.
        alpha (float): step size. Default 2/255.
        steps (int): iterations; 0 picks ``int(min(eps*255 + 4, 1.25*eps*255))`` as the paper.
            Default 10.
        clip_min, clip_max (float): valid input range. Default 0, 1.
    """

    def __init__(self, model, eps=8 / 255, alpha=2 / 255, steps=10, clip_min=0.0,
                 clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        _positive("BIM", eps=eps, alpha=alpha, steps=steps)
        self.eps, self.alpha = eps, alpha
        self.steps = int(min(eps * 255 + 4, 1.25 * eps * 255)) if steps == 0 else int(steps)

    def perturb(self, x, y):
        xp = B.get_array_module(x)
        loss = ce_loss(y, -1.0 if self.targeted else 1.0)
        ori, adv = x, x
        lo = xp.maximum(ori - self.eps, self.clip_min)
        hi = ori + self.eps
        for _ in range(self.steps):
            g, _, _ = input_grad(self.model, adv, loss)
            adv = xp.minimum(xp.maximum(adv + self.alpha * xp.sign(g), lo), hi)
            adv = xp.minimum(adv, self.clip_max)
        return adv


class PGD(Attack):
    """Projected gradient descent in L-inf (Madry et al. 2018).

    Args:
        model (Module): logits model.
        eps (float): L-inf budget. Default 8/255.
        alpha (float): step size. Default 2/255.
        steps (int): iterations. Default 10.
        random_start (bool): start from a uniform point of the eps-ball. Default True.
        restarts (int): independent runs; each sample keeps the first run that fools the
            model (the last run otherwise). Default 1 (torchattacks' PGD).
        loss_fn (callable, optional): ``loss_fn(logits, labels) -> scalar Tensor`` to ascend
            instead of cross-entropy (e.g. TRADES' KL). Default None.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Example:
        >>> adv = PGD(model, eps=0.3, alpha=0.01, steps=40)(images, labels)
    """

    norm = "linf"

    def __init__(self, model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=True,
                 restarts=1, loss_fn=None, clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        _positive(type(self).__name__, eps=eps, alpha=alpha, steps=steps)
        check(int(restarts) >= 1, type(self).__name__, "restarts >= 1", f"{restarts}")
        self.eps, self.alpha, self.steps = eps, alpha, int(steps)
        self.random_start, self.restarts, self.loss_fn = bool(random_start), int(restarts), loss_fn

    def _loss(self, y):
        if self.loss_fn is None:
            return ce_loss(y, -1.0 if self.targeted else 1.0)
        from ...autograd import Tensor
        yt, s = Tensor(y), (-1.0 if self.targeted else 1.0)
        return lambda out: self.loss_fn(out, yt) * s

    def start(self, x):
        xp = B.get_array_module(x)
        u = B.rng().uniform(-self.eps, self.eps, size=x.shape).astype(x.dtype)
        return self.clip(x + xp.asarray(u))

    def step(self, x, adv, g):
        xp = B.get_array_module(x)
        adv = adv + self.alpha * xp.sign(g)
        return self.clip(x + xp.clip(adv - x, -self.eps, self.eps))

    def run_once(self, x, y):
        return self.run_once_from(x, self.start(x) if self.random_start else x, y)

    def run_once_from(self, x, adv, y):
        """``steps`` projected steps from ``adv`` around the clean ``x`` (raw arrays); runs
        the model as it is (callers outside ``__call__`` freeze it themselves)."""
        loss = self._loss(y)
        for _ in range(self.steps):
            g, _, _ = input_grad(self.model, adv, loss)
            adv = self.step(x, adv, g)
        return adv

    def perturb(self, x, y):
        best = self.run_once(x, y)
        for _ in range(self.restarts - 1):
            pred = logits_of(self.model, best).argmax(axis=1)
            todo = (pred == y) != self.targeted
            if not todo.any():
                break
            best[todo] = self.run_once(x[todo], y[todo])
        return best


class PGDL2(PGD):
    """PGD in L2: normalized gradient steps, projection onto the L2 ball.

    Args:
        model (Module): logits model.
        eps (float): L2 budget. Default 1.0.
        alpha (float): step size. Default 0.2.
        steps (int): iterations. Default 10.
        random_start (bool): start from a random point of the ball. Default True.
        restarts (int): as :class:`PGD`. Default 1.
        eps_for_division (float): added to gradient norms. Default 1e-10.
        loss_fn (callable, optional): as :class:`PGD`.
        clip_min, clip_max (float): valid input range. Default 0, 1.
    """

    norm = "l2"

    def __init__(self, model, eps=1.0, alpha=0.2, steps=10, random_start=True, restarts=1,
                 eps_for_division=1e-10, loss_fn=None, clip_min=0.0, clip_max=1.0):
        super().__init__(model, eps, alpha, steps, random_start, restarts, loss_fn, clip_min,
                         clip_max)
        self.eps_for_division = eps_for_division

    def start(self, x):
        rng = B.rng()
        d = rng.standard_normal(x.shape).astype(x.dtype)
        r = rng.uniform(0, 1, size=len(x)).astype(x.dtype)
        d *= bshape(r / flat_norm(d) * self.eps, x.ndim).astype(x.dtype)
        return self.clip(x + B.get_array_module(x).asarray(d))

    def step(self, x, adv, g):
        xp = B.get_array_module(x)
        g = g / bshape(flat_norm(g) + self.eps_for_division, x.ndim)
        delta = adv + self.alpha * g - x
        with np.errstate(divide="ignore"):
            factor = xp.minimum(self.eps / flat_norm(delta), 1.0)
        return self.clip(x + delta * bshape(factor, x.ndim).astype(x.dtype))


class MIFGSM(Attack):
    """Momentum iterative FGSM (Dong et al. 2018).

    Args:
        model (Module): logits model.
        eps (float): L-inf budget. Default 8/255.
        alpha (float): step size. Default 2/255.
        steps (int): iterations. Default 10.
        decay (float): momentum factor. Default 1.0.
        clip_min, clip_max (float): valid input range. Default 0, 1.
    """

    def __init__(self, model, eps=8 / 255, alpha=2 / 255, steps=10, decay=1.0, clip_min=0.0,
                 clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        _positive("MIFGSM", eps=eps, alpha=alpha, steps=steps)
        self.eps, self.alpha, self.steps, self.decay = eps, alpha, int(steps), decay

    def perturb(self, x, y):
        xp = B.get_array_module(x)
        loss = ce_loss(y, -1.0 if self.targeted else 1.0)
        momentum = xp.zeros_like(x)
        adv = x
        axes = tuple(range(1, x.ndim))
        for _ in range(self.steps):
            g, _, _ = input_grad(self.model, adv, loss)
            g = g / xp.abs(g).mean(axis=axes, keepdims=True) + momentum * self.decay
            momentum = g
            adv = self.clip(x + xp.clip(adv + self.alpha * xp.sign(g) - x, -self.eps, self.eps))
        return adv


class EOTPGD(PGD):
    """PGD on the expectation over transformation (Athalye et al. 2018): each step averages the
    gradient of ``eot_iter`` passes of a randomized model (dropout left on, or a model that
    wraps a random input transform). With a BPDA-wrapped defence it is the adaptive attack.

    Args:
        model (Module): logits model, possibly randomized.
        eps, alpha, steps, random_start: as :class:`PGD` (defaults 8/255, 2/255, 10, True).
        eot_iter (int): passes per gradient. Default 2 (torchattacks).
        clip_min, clip_max (float): valid input range. Default 0, 1.
    """

    def __init__(self, model, eps=8 / 255, alpha=2 / 255, steps=10, eot_iter=2,
                 random_start=True, clip_min=0.0, clip_max=1.0):
        super().__init__(model, eps, alpha, steps, random_start, 1, None, clip_min, clip_max)
        self.eot_iter = int(eot_iter)

    def run_once(self, x, y):
        adv = self.start(x) if self.random_start else x
        loss = self._loss(y)
        for _ in range(self.steps):
            g = sum(input_grad(self.model, adv, loss)[0] for _ in range(self.eot_iter))
            adv = self.step(x, adv, g)
        return adv

"""APGD (Croce & Hein 2020, AutoAttack's white-box core), after torchattacks 3.5.1: PGD with
momentum 0.75 and a step size halved at checkpoints where the loss oscillated or stalled;
cross-entropy or the shift- and scale-invariant DLR loss; L-inf or L2."""

from __future__ import annotations

from ... import backend as B
from ... import functional as F
from ...autograd import Tensor
from ...errors import check
from .._util import bshape, flat_norm, input_grad, logits_of
from .base import Attack

np = B.np

__all__ = ["APGD", "dlr_loss"]


def dlr_loss(logits, y):
    """Difference-of-logits-ratio loss per sample (Tensor in, ``(N,)`` Tensor out):
    ``-(z_y - max_{j!=y} z_j) / (z_pi1 - z_pi3 + 1e-12)`` with ``z_pi`` sorted descending."""
    z = logits.array
    xp = B.get_array_module(z)
    order = xp.argsort(z, axis=1)
    ar = xp.arange(len(z))
    top, second, third = order[:, -1], order[:, -2], order[:, -3]
    other = xp.where(top == y, second, top)
    num = logits[ar, y] - logits[ar, other]
    return -num / (logits[ar, top] - logits[ar, third] + 1e-12)


def _ce_indiv(logits, y):
    return F.cross_entropy(logits, Tensor(y), reduction="none")


class APGD(Attack):
    """Auto-PGD: step-size-free PGD with AutoAttack's schedule.

    Args:
        model (Module): logits model.
        norm (str): ``'Linf'`` or ``'L2'``. Default ``'Linf'``.
        eps (float): budget. Default 8/255.
        steps (int): iterations. Default 10.
        n_restarts (int): restarts on the still-correct samples. Default 1.
        loss (str): ``'ce'`` or ``'dlr'``. Default ``'ce'``.
        eot_iter (int): gradient passes averaged per step (randomized models). Default 1.
        rho (float): oscillation threshold of the step-size rule. Default 0.75.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    The random start draws from ``lamina.backend.rng()`` (torchattacks reseeds torch with
    ``seed``; lamina leaves seeding to ``lamina.manual_seed``).
    """

    supported_mode = ("default",)

    def __init__(self, model, norm="Linf", eps=8 / 255, steps=10, n_restarts=1, loss="ce",
                 eot_iter=1, rho=0.75, clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        check(norm in ("Linf", "L2"), "APGD", "norm 'Linf' or 'L2'", repr(norm))
        check(loss in ("ce", "dlr"), "APGD", "loss 'ce' or 'dlr'", repr(loss))
        self.norm, self.eps, self.steps, self.n_restarts = norm, eps, int(steps), int(n_restarts)
        self.loss, self.eot_iter, self.rho = loss, int(eot_iter), rho

    def _grad(self, x, y):
        crit = dlr_loss if self.loss == "dlr" else _ce_indiv
        box = {}

        def total(out):
            li = crit(out, y)
            box["l"] = li.array
            return li.sum()
        g = 0
        for _ in range(self.eot_iter):
            gi, logits, _ = input_grad(self.model, x, total)
            g = g + gi
        return g / float(self.eot_iter), logits, box["l"]

    def _project(self, x, z):
        xp = B.get_array_module(x)
        if self.norm == "Linf":
            return self.clip(xp.minimum(xp.maximum(z, x - self.eps), x + self.eps))
        d = z - x
        n = bshape(flat_norm(d), x.ndim)
        return self.clip(x + d / (n + 1e-12) * xp.minimum(self.eps, n + 1e-12))

    def _single_run(self, x, y):
        xp = B.get_array_module(x)
        n, nd = len(x), x.ndim
        steps_2 = max(int(0.22 * self.steps), 1)
        steps_min, size_decr = max(int(0.06 * self.steps), 1), max(int(0.03 * self.steps), 1)
        rng = B.rng()
        if self.norm == "Linf":
            t = xp.asarray(2 * rng.random(x.shape) - 1).astype(x.dtype)
            x_adv = x + self.eps * t / bshape(flat_norm(t, "linf"), nd)
        else:
            t = xp.asarray(rng.standard_normal(x.shape)).astype(x.dtype)
            x_adv = x + self.eps * t / (bshape(flat_norm(t), nd) + 1e-12)
        x_adv = self.clip(x_adv)
        x_best, x_best_adv = x_adv.copy(), x_adv.copy()
        loss_steps = xp.zeros((self.steps, n))
        grad, logits, loss_indiv = self._grad(x_adv, y)
        grad_best = grad.copy()
        acc = logits.argmax(axis=1) == y
        loss_best = loss_indiv.copy()
        step_size = xp.full((n,) + (1,) * (nd - 1), 2.0 * self.eps, dtype=x.dtype)
        x_adv_old = x_adv.copy()
        k, counter3 = steps_2, 0
        loss_best_last = loss_best.copy()
        reduced_last = xp.ones(n, dtype=bool)
        for i in range(self.steps):
            grad2 = x_adv - x_adv_old
            x_adv_old = x_adv.copy()
            a = 0.75 if i > 0 else 1.0
            if self.norm == "Linf":
                z = self._project(x, x_adv + step_size * xp.sign(grad))
            else:
                z = self._project(x, x_adv + step_size * grad / (
                    bshape(flat_norm(grad), nd) + 1e-12))
            x_adv = self._project(x, x_adv + (z - x_adv) * a + grad2 * (1 - a))
            grad, logits, loss_indiv = self._grad(x_adv, y)
            pred = logits.argmax(axis=1) == y
            acc = acc & pred
            x_best_adv[~pred] = x_adv[~pred]
            loss_steps[i] = loss_indiv
            imp = loss_indiv > loss_best
            x_best[imp], grad_best[imp], loss_best[imp] = x_adv[imp], grad[imp], loss_indiv[imp]
            counter3 += 1
            if counter3 == k:
                # torchattacks' check_oscillation (negative rows wrap around, as there)
                ups = sum((loss_steps[i - c] > loss_steps[i - c - 1]) for c in range(k))
                osc = ups <= k * self.rho
                no_impr = (~reduced_last) & (loss_best_last >= loss_best)
                osc = osc | no_impr
                reduced_last, loss_best_last = osc.copy(), loss_best.copy()
                if osc.any():
                    step_size[osc] /= 2.0
                    x_adv[osc], grad[osc] = x_best[osc], grad_best[osc]
                counter3, k = 0, max(k - size_decr, steps_min)
        return x_best, acc, loss_best, x_best_adv

    def perturb(self, x, y):
        adv = x.copy()
        acc = logits_of(self.model, x).argmax(axis=1) == y
        for _ in range(self.n_restarts):
            idx = B.get_array_module(x).nonzero(acc)[0]
            if len(idx) == 0:
                break
            _, acc_c, _, adv_c = self._single_run(x[idx], y[idx])
            fooled = ~acc_c
            acc[idx[fooled]] = False
            adv[idx[fooled]] = adv_c[fooled]
        return adv

"""Minimum-norm attacks, after torchattacks 3.5.1: Carlini-Wagner L2 (with an optional binary
search over ``c``, as the paper) and DeepFool (batched: one Jacobian per step for the whole
batch, each sample stopping once it is misclassified)."""

from __future__ import annotations

from ... import backend as B
from ... import functional as F
from ...autograd import Tensor, enable_grad, grad
from ...errors import check
from .._util import bshape, flat_norm
from .base import Attack

np = B.np

__all__ = ["CW", "DeepFool"]


class CW(Attack):
    """Carlini & Wagner's L2 attack: Adam on ``w`` with ``x_adv = (tanh(w) + 1) / 2`` (scaled to
    the input range), minimising ``||x_adv - x||^2 + c * max(z_y - max_{j!=y} z_j, -kappa)``.

    Args:
        model (Module): logits model.
        c (float): initial weight of the misclassification term. Default 1.
        kappa (float): confidence margin. Default 0.
        steps (int): Adam steps per search round. Default 50.
        lr (float): Adam learning rate. Default 0.01.
        binary_search_steps (int): rounds over ``c`` per sample (success: bisect down, failure:
            times 10). Default 1, torchattacks' single run with early stopping.
        clip_min, clip_max (float): valid input range. Default 0, 1.

    Returns (from ``__call__``):
        The smallest-L2 successful example found per sample (the clean input where none).
    """

    def __init__(self, model, c=1.0, kappa=0.0, steps=50, lr=0.01, binary_search_steps=1,
                 clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        check(c > 0 and steps >= 1 and binary_search_steps >= 1, "CW",
              "c > 0, steps >= 1, binary_search_steps >= 1",
              f"c={c}, steps={steps}, binary_search_steps={binary_search_steps}")
        self.c, self.kappa, self.steps, self.lr = c, kappa, int(steps), lr
        self.binary_search_steps = int(binary_search_steps)

    def _to_img(self, t):
        return (t.tanh() + 1.0) * (0.5 * (self.clip_max - self.clip_min)) + self.clip_min

    def _round(self, x, y, c, best_l2, best_adv):
        xp = B.get_array_module(x)
        span = self.clip_max - self.clip_min
        z = xp.clip((x - self.clip_min) / span * 2 - 1, -1, 1)
        with np.errstate(divide="ignore"):
            w = 0.5 * xp.log((1 + z) / (1 - z))
        m, v = xp.zeros_like(w), xp.zeros_like(w)
        onehot = xp.eye(1, dtype=x.dtype)  # replaced below with the right width
        succeeded = xp.zeros(len(x), dtype=bool)
        prev, ct = 1e10, Tensor(c.astype(x.dtype))
        for step in range(self.steps):
            wt = Tensor(w, requires_grad=True)
            with enable_grad():
                adv = self._to_img(wt)
                d = adv - Tensor(x)
                l2 = (d * d).reshape(len(x), -1).sum(axis=1)
                out = self.model(adv)
                if onehot.shape[1] != out.shape[1]:
                    onehot = xp.eye(out.shape[1], dtype=x.dtype)[y]
                oh = Tensor(onehot)
                other = ((1.0 - oh) * out).max(axis=1)
                real = (oh * out).max(axis=1)
                f = (other - real) if self.targeted else (real - other)
                f = F.maximum(f, Tensor(xp.asarray(-self.kappa, dtype=x.dtype)))
                cost = l2.sum() + (ct * f).sum()
            (g,) = grad(cost, [wt])
            g = g.array
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            t = step + 1
            w = w - self.lr * (m / (1 - 0.9 ** t)) / (xp.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
            pred = out.array.argmax(axis=1)
            ok = (pred == y) if self.targeted else (pred != y)
            l2a = l2.array
            better = ok & (best_l2 > l2a)
            best_l2 = xp.where(better, l2a, best_l2)
            best_adv = xp.where(bshape(better, x.ndim), adv.array, best_adv)
            succeeded |= ok
            if step % max(self.steps // 10, 1) == 0:
                if cost.item() > prev:
                    break
                prev = cost.item()
        return best_l2, best_adv, succeeded

    def perturb(self, x, y):
        xp = B.get_array_module(x)
        best_l2 = xp.full(len(x), 1e10, dtype=x.dtype)
        best_adv = x.copy()
        c = xp.full(len(x), float(self.c))
        lo, hi = xp.zeros(len(x)), xp.full(len(x), xp.inf)
        for _ in range(self.binary_search_steps):
            best_l2, best_adv, ok = self._round(x, y, c, best_l2, best_adv)
            hi = xp.where(ok, xp.minimum(hi, c), hi)
            lo = xp.where(ok, lo, xp.maximum(lo, c))
            c = xp.where(xp.isinf(hi), c * 10, (lo + hi) / 2)
        return best_adv


class DeepFool(Attack):
    """DeepFool (Moosavi-Dezfooli et al. 2016): step to the nearest linearized decision
    boundary, scaled by ``1 + overshoot``, until the label flips.

    Args:
        model (Module): logits model (per-sample independent outputs, i.e. eval mode).
        steps (int): maximum steps. Default 50.
        overshoot (float): overshoot factor. Default 0.02.
        clip_min, clip_max (float): valid input range. Default 0, 1.
    """

    supported_mode = ("default",)

    def __init__(self, model, steps=50, overshoot=0.02, clip_min=0.0, clip_max=1.0):
        super().__init__(model, clip_min, clip_max)
        self.steps, self.overshoot = int(steps), overshoot

    def _jacobian(self, x):
        xt = Tensor(x, requires_grad=True)
        with enable_grad():
            out = self.model(xt)
        n_cls = out.shape[1]
        xp = B.get_array_module(x)
        jac = []
        for k in range(n_cls):
            sel = xp.zeros(out.shape, dtype=out.dtype)
            sel[:, k] = 1
            jac.append(grad(out, [xt], grad_outputs=Tensor(sel),
                            retain_graph=k + 1 < n_cls)[0].array)
        return out.array, xp.stack(jac, axis=1)  # (n, C, ...)

    def perturb(self, x, y):
        xp = B.get_array_module(x)
        adv = x.copy()
        active = xp.arange(len(x))
        for _ in range(self.steps):
            if len(active) == 0:
                break
            fs, ws = self._jacobian(adv[active])
            ya = y[active]
            still = fs.argmax(axis=1) == ya
            active, fs, ws, ya = active[still], fs[still], ws[still], ya[still]
            if len(active) == 0:
                break
            ar = xp.arange(len(active))
            f_p = fs - fs[ar, ya][:, None]
            w_p = ws - ws[ar, ya][:, None]
            nrm = xp.sqrt((w_p.reshape(len(ar), fs.shape[1], -1) ** 2).sum(axis=2))
            with np.errstate(divide="ignore", invalid="ignore"):
                value = xp.abs(f_p) / nrm
            value[ar, ya] = xp.inf
            hat = xp.nan_to_num(value, nan=xp.inf).argmin(axis=1)
            wh = w_p[ar, hat]
            scale = xp.abs(f_p[ar, hat]) / (flat_norm(wh) ** 2)
            delta = bshape(scale, wh.ndim).astype(x.dtype) * wh
            adv[active] = self.clip(adv[active] + (1 + self.overshoot) * delta)
        return adv



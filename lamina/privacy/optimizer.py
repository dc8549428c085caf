"""DP-SGD (Abadi et al. 2016): per-example clipping, Gaussian noise, Poisson sampling.

Each step clips every example's whole gradient (all parameters together) to L2 norm
``max_grad_norm``, sums the clipped gradients, adds ``N(0, (noise_multiplier *
max_grad_norm)^2)`` to every coordinate and divides by the *expected* batch size (Opacus'
convention, which keeps the sensitivity of the average fixed under Poisson sampling). The
wrapped optimizer then steps on that gradient. The noise comes from ``lamina.backend.rng()``,
so ``lamina.manual_seed`` makes a DP run reproducible.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor
from ..data.sampler import _Seeded
from ..errors import check

__all__ = ["DPOptimizer", "PoissonSampler", "clip_and_accumulate"]

np = B.np


def _ghost_norm2(parts):
    """Squared per-example norms of ``sum_t g_t^T x_t`` from the factors, ``(N,)``."""
    if len(parts) == 1:
        x, g = parts[0]
        if x.shape[1] == 1:  # one row per example: ||g x^T||^2 = ||g||^2 ||x||^2
            return (g[:, 0].astype(np.float64) ** 2).sum(1) * (x[:, 0].astype(np.float64) ** 2
                                                               ).sum(1)
        gg, xx = np.matmul(g, g.transpose(0, 2, 1)), np.matmul(x, x.transpose(0, 2, 1))
        return (gg * xx).sum((1, 2)).astype(np.float64)
    full = sum(np.matmul(g.transpose(0, 2, 1), x) for x, g in parts)
    return (full.reshape(len(full), -1).astype(np.float64) ** 2).sum(1)


def _ghost_sum(parts, factor):
    """``sum_n factor_n * sum_t g_nt^T x_nt`` as GEMMs."""
    out = 0
    for x, g in parts:
        gc = g * factor.astype(g.dtype)[:, None, None]
        out = out + gc.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])
    return out


def clip_and_accumulate(params, max_grad_norm: float):
    """Sum over examples of per-example gradients clipped to ``max_grad_norm`` (jointly).

    Args:
        params (list of Parameter): each with ``grad_sample`` ``(N, *shape)`` or ghost
            factors ``ghost_parts`` (see :class:`~lamina.privacy.GradSampleModule`).
        max_grad_norm (float): the clipping norm ``C``.

    Returns:
        ``(sums, norms)``: list of summed clipped gradients (one per parameter, ``p.shape``)
        and the per-example norms before clipping ``(N,)``.
    """
    sq = 0
    for p in params:
        parts = getattr(p, "ghost_parts", None)
        if parts:
            sq = sq + _ghost_norm2(parts)
        else:
            g = p.grad_sample
            sq = sq + (g.reshape(g.shape[0], -1).astype(np.float64) ** 2).sum(1)
    norms = np.sqrt(sq)
    factor = np.minimum(max_grad_norm / (norms + 1e-6), 1.0)  # Opacus' flat clipping
    sums = []
    for p in params:
        parts = getattr(p, "ghost_parts", None)
        if parts:
            sums.append(_ghost_sum(parts, factor).astype(p.dtype))
        else:
            g = p.grad_sample
            sums.append(np.tensordot(factor.astype(g.dtype), g, axes=(0, 0)))
    return sums, norms


class DPOptimizer:
    """Wrap an optimizer so that every step is a DP-SGD step.

    Use with a :class:`~lamina.privacy.GradSampleModule` (it fills ``p.grad_sample``) and,
    for the accountant's guarantee, a :class:`PoissonSampler`; :func:`make_private` builds the
    three together.

    Args:
        optimizer (Optimizer): the optimizer to wrap (its ``param_groups`` are used).
        noise_multiplier (float): sigma, noise std over ``max_grad_norm``; >= 0.
        max_grad_norm (float): per-example clipping norm ``C`` > 0.
        expected_batch_size (int, optional): divisor of the noisy sum (``sample_rate * N``);
            None uses each batch's actual size. Default None.
        loss_reduction (str): ``"mean"`` (default) or ``"sum"`` (no division).
        accountant (RDPAccountant or PRVAccountant, optional): stepped with
            ``(noise_multiplier, sample_rate)`` after every step; its history is part of
            :meth:`state_dict`. Default None.
        sample_rate (float, optional): needed with an accountant.

    Example:
        >>> dp = DPOptimizer(SGD(model.parameters(), lr=0.1), noise_multiplier=1.1,
        ...                  max_grad_norm=1.0, expected_batch_size=256)
    """

    def __init__(self, optimizer, noise_multiplier: float, max_grad_norm: float,
                 expected_batch_size: int | None = None, loss_reduction: str = "mean",
                 accountant=None, sample_rate: float | None = None):
        check(noise_multiplier >= 0, "DPOptimizer", "noise_multiplier >= 0",
              repr(noise_multiplier), cls=ValueError)
        check(max_grad_norm > 0, "DPOptimizer", "max_grad_norm > 0", repr(max_grad_norm),
              cls=ValueError)
        check(loss_reduction in ("mean", "sum"), "DPOptimizer",
              "loss_reduction 'mean' or 'sum'", repr(loss_reduction), cls=ValueError)
        check(accountant is None or sample_rate is not None, "DPOptimizer",
              "sample_rate with an accountant", "sample_rate=None", cls=ValueError)
        self.original_optimizer = optimizer
        self.noise_multiplier, self.max_grad_norm = float(noise_multiplier), float(max_grad_norm)
        self.expected_batch_size, self.loss_reduction = expected_batch_size, loss_reduction
        self.accountant, self.sample_rate = accountant, sample_rate
        self.last_norms = None

    @property
    def param_groups(self):
        return self.original_optimizer.param_groups

    @property
    def state(self):
        return self.original_optimizer.state

    @property
    def params(self) -> list:
        return [p for g in self.param_groups for p in g["params"] if p.requires_grad]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``.grad`` and ``.grad_sample`` of every parameter."""
        self.original_optimizer.zero_grad(set_to_none)
        for p in self.params:
            p.grad_sample = p.ghost_parts = None

    def pre_step(self, batch_size: int | None = None) -> None:
        """Replace every ``.grad`` by the clipped, noised, averaged gradient.

        Args:
            batch_size (int, optional): the batch's size, used when the batch was empty (no
                ``grad_sample``: the update is pure noise, as Opacus does) or as the divisor
                when ``expected_batch_size`` is None.
        """
        params = self.params
        have = [getattr(p, "grad_sample", None) is not None
                or bool(getattr(p, "ghost_parts", None)) for p in params]
        if any(have):
            check(all(have), "DPOptimizer.step", "grad_sample on every trainable parameter",
                  f"missing on {have.count(False)} of {len(params)}", "wrap the model in a "
                  "GradSampleModule and run backward before step()")
            sums, norms = clip_and_accumulate(params, self.max_grad_norm)
            n = norms.shape[0]
            self.last_norms = norms
        else:
            sums, n = [np.zeros(p.shape, p.dtype) for p in params], int(batch_size or 0)
        div = self.expected_batch_size or max(n, 1)
        if self.loss_reduction == "sum":
            div = 1
        std = self.noise_multiplier * self.max_grad_norm
        for p, s in zip(params, sums):
            if std > 0:
                s = s + (std * B.rng().standard_normal(p.shape)).astype(p.dtype)
            p._grad = Tensor((s / div).astype(p.dtype, copy=False))
            p.grad_sample = p.ghost_parts = None

    def step(self, closure=None):
        """DP-SGD step: :meth:`pre_step`, the wrapped optimizer's step, the accountant."""
        loss = closure() if closure is not None else None
        self.pre_step()
        self.original_optimizer.step()
        if self.accountant is not None:
            self.accountant.step(noise_multiplier=self.noise_multiplier,
                                 sample_rate=self.sample_rate)
        return loss

    def state_dict(self) -> dict:
        """The wrapped optimizer's state plus ``"privacy_accountant"`` (the accountant's
        :meth:`~lamina.privacy.HistoryAccountant.state_dict`), so a checkpoint carries the
        budget spent: a resumed run reports the epsilon of an uninterrupted one.

        Returns:
            dict: ``state``, ``param_groups`` and, with an accountant, ``privacy_accountant``.
        """
        state = dict(self.original_optimizer.state_dict())
        if self.accountant is not None:
            state["privacy_accountant"] = self.accountant.state_dict()
        return state

    def load_state_dict(self, state) -> None:
        """Restore :meth:`state_dict` (a plain optimizer's state loads too, leaving the
        accountant as it is).

        Args:
            state: as returned by :meth:`state_dict`.
        """
        state = dict(state)
        acc = state.pop("privacy_accountant", None)
        self.original_optimizer.load_state_dict(state)
        if acc is not None and self.accountant is not None:
            self.accountant.load_state_dict(acc)


class PoissonSampler(_Seeded):
    """Poisson sampling: every batch holds each index independently with probability
    ``sample_rate`` (the sampling the RDP analysis assumes), ``steps`` batches an epoch.

    Pass it as ``DataLoader(dataset, batch_sampler=PoissonSampler(...))``. Batches may be
    empty. Seeded and resumable like lamina's other samplers.

    Args:
        num_samples (int): dataset size ``N``.
        sample_rate (float): probability ``q`` in (0, 1].
        steps (int, optional): batches per epoch; default ``round(1 / q)``.
        seed (int, optional): base seed; None draws one from ``lamina.backend.rng()``.
    """

    def __init__(self, num_samples: int, sample_rate: float, steps: int | None = None,
                 seed=None):
        check(0 < sample_rate <= 1, "PoissonSampler", "0 < sample_rate <= 1",
              repr(sample_rate), cls=ValueError)
        self.n, self.sample_rate = int(num_samples), float(sample_rate)
        self.steps = int(round(1 / sample_rate)) if steps is None else int(steps)
        self._init_seed(seed)

    def __iter__(self):
        g = self._next_generator()
        return (np.flatnonzero(g.random(self.n) < self.sample_rate).astype(np.int64)
                for _ in range(self.steps))

    def __len__(self) -> int:
        return self.steps

"""Privacy accounting of the sampled Gaussian mechanism (DP-SGD): RDP with Opacus' interface.

Renyi-DP of one step with sampling rate ``q`` and noise multiplier ``sigma`` at order ``alpha``
is ``log(A_alpha) / (alpha - 1)`` (Mironov, Talwar & Zhang 2019, section 3.3: a finite binomial
sum for integer orders, a two-sided series with ``erfc`` tails for fractional ones); steps add
up. The (epsilon, delta) conversion is Balle et al. 2020, Theorem 21:
``eps = rdp - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha)``, minimised
over Opacus' grid of orders (1.1, 1.2, ..., 10.9, 12, ..., 63). Both are the formulas of Opacus
1.6 and TF Privacy, so the numbers agree with them to rounding.

:func:`analytic_gaussian_epsilon` is the exact epsilon of one full-batch Gaussian step (Balle &
Wang 2018), the reference an accountant's one-step answer must upper-bound.
The PRV accountant (Gopi et al. 2021), tighter for long runs, is
:class:`~lamina.privacy.PRVAccountant` (``lamina/privacy/prv.py``); both share
:class:`HistoryAccountant`'s history and checkpoint state.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..errors import check

__all__ = ["HistoryAccountant", "RDPAccountant", "ACCOUNTANTS", "compute_rdp",
           "get_privacy_spent", "get_noise_multiplier", "analytic_gaussian_epsilon",
           "DEFAULT_ALPHAS"]

np = B.np
DEFAULT_ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def _logsumexp_signed(logs, signs) -> float:
    """log(sum(sign * exp(logs))) for a positive total (one shifted float64 sum)."""
    m = float(logs.max())
    if m == -math.inf:
        return -math.inf
    total = float(np.dot(signs, np.exp(logs - m)))
    return math.log(total) + m if total > 0 else -math.inf


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    """Integer order: ``log sum_i C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / 2s^2)``."""
    from scipy.special import gammaln
    i = np.arange(alpha + 1, dtype=np.float64)
    lb = gammaln(alpha + 1) - gammaln(i + 1) - gammaln(alpha - i + 1)
    s = lb + i * math.log(q) + (alpha - i) * math.log(1 - q) + (i * i - i) / (2 * sigma ** 2)
    return _logsumexp_signed(s, np.ones_like(s))


def _log_a_frac(q: float, sigma: float, alpha: float) -> float:
    """Fractional order: the two-sided series with erfc tails, summed up to (and including)
    the first term below exp(-30), as Opacus/TF Privacy's loop does, in vectorised chunks."""
    from scipy.special import binom, log_ndtr
    z0 = sigma ** 2 * math.log(1 / q - 1) + 0.5
    start, chunk, parts = 0, 256, []
    while True:
        i = np.arange(start, start + chunk, dtype=np.float64)
        coef = binom(alpha, i)
        lc = np.log(np.abs(coef))
        j = alpha - i
        t0 = lc + i * math.log(q) + j * math.log(1 - q)
        t1 = lc + j * math.log(q) + i * math.log(1 - q)
        # log(0.5 * erfc(x)) = log_ndtr(-x * sqrt(2))
        e0 = log_ndtr(-(i - z0) / sigma)
        e1 = log_ndtr(-(z0 - j) / sigma)
        s0 = t0 + (i * i - i) / (2 * sigma ** 2) + e0
        s1 = t1 + (j * j - j) / (2 * sigma ** 2) + e1
        stop = np.flatnonzero(np.maximum(s0, s1) < -30)
        k = int(stop[0]) + 1 if stop.size else chunk
        parts.append((s0[:k], s1[:k], np.sign(coef[:k])))
        if stop.size:
            break
        start += chunk
    s0, s1, sg = (np.concatenate(c) for c in zip(*parts))
    a0, a1 = _logsumexp_signed(s0, sg), _logsumexp_signed(s1, sg)
    return float(np.logaddexp(a0, a1))


def _rdp_one(q: float, sigma: float, alpha: float) -> float:
    if q == 0:
        return 0.0
    if sigma == 0:
        return math.inf
    if q == 1.0:
        return alpha / (2 * sigma ** 2)
    if math.isinf(alpha):
        return math.inf
    if float(alpha).is_integer():
        return _log_a_int(q, sigma, int(alpha)) / (alpha - 1)
    return _log_a_frac(q, sigma, alpha) / (alpha - 1)


def compute_rdp(*, q: float, noise_multiplier: float, steps: int, orders):
    """RDP of ``steps`` sampled Gaussian steps at each order.

    Args:
        q (float): sampling rate in [0, 1].
        noise_multiplier (float): sigma / sensitivity.
        steps (int): number of steps.
        orders (float or sequence): RDP orders > 1.

    Returns:
        float or float64 array ``(len(orders),)`` (may hold ``inf``).
    """
    check(0 <= q <= 1, "compute_rdp", "0 <= q <= 1", repr(q), cls=ValueError)
    if isinstance(orders, (int, float)):
        return _rdp_one(q, noise_multiplier, orders) * steps
    return np.array([_rdp_one(q, noise_multiplier, a) for a in orders]) * steps


def get_privacy_spent(*, orders, rdp, delta: float):
    """(epsilon, best order) from RDP values by Balle et al. 2020's conversion.

    Args:
        orders: orders ``(K,)``.
        rdp: RDP at those orders ``(K,)``.
        delta (float): target delta.

    Returns:
        ``(eps, alpha)`` floats; ``(inf, nan)`` when every order is infinite.
    """
    o, r = np.atleast_1d(np.asarray(orders, np.float64)), np.atleast_1d(np.asarray(rdp))
    check(o.shape == r.shape, "get_privacy_spent", "orders and rdp of the same length",
          f"{o.shape} and {r.shape}", cls=ValueError)
    check(0 < delta < 1, "get_privacy_spent", "0 < delta < 1", repr(delta), cls=ValueError)
    with np.errstate(invalid="ignore"):
        eps = r - (math.log(delta) + np.log(o)) / (o - 1) + np.log((o - 1) / o)
    if np.isnan(eps).all():
        return math.inf, math.nan
    i = int(np.nanargmin(eps))
    return float(eps[i]), float(o[i])


class HistoryAccountant:
    """What every accountant shares (Opacus' ``IAccountant``): the ``history`` of
    ``(noise_multiplier, sample_rate, steps)`` triples, consecutive equal steps merged,
    and a JSON-able ``state_dict`` so a checkpoint carries the budget spent so far."""

    def __init__(self):
        self.history: list = []

    def step(self, *, noise_multiplier: float, sample_rate: float) -> None:
        """Record one step of the sampled Gaussian mechanism.

        Args:
            noise_multiplier: sigma of the step.
            sample_rate: Poisson sampling rate ``q`` of the step.
        """
        if self.history and self.history[-1][:2] == (noise_multiplier, sample_rate):
            s, q, n = self.history[-1]
            self.history[-1] = (s, q, n + 1)
        else:
            self.history.append((noise_multiplier, sample_rate, 1))

    def __len__(self) -> int:
        return len(self.history)

    @classmethod
    def mechanism(cls) -> str:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``{'history': [[sigma, q, steps], ...], 'mechanism': name}`` (JSON-able)."""
        return {"history": [list(h) for h in self.history], "mechanism": self.mechanism()}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (Opacus' check: the mechanism must match).

        Args:
            state: as returned by :meth:`state_dict`.

        Raises:
            ValueError: ``state`` was saved by a different accountant.
        """
        mech = state.get("mechanism", self.mechanism())
        check(mech == self.mechanism(), f"{type(self).__name__}.load_state_dict",
              f"a {self.mechanism()!r} accountant state", repr(mech), cls=ValueError)
        self.history = [(float(s), float(q), int(n)) for s, q, n in state["history"]]


class RDPAccountant(HistoryAccountant):
    """Renyi-DP accountant with Opacus' interface (``step``, ``get_epsilon``, ``history``).

    ``history`` is a list of ``(noise_multiplier, sample_rate, steps)``; consecutive steps with
    the same parameters are merged.

    Example:
        >>> acc = RDPAccountant()
        >>> for _ in range(1000):
        ...     acc.step(noise_multiplier=1.1, sample_rate=256 / 60000)
        >>> acc.get_epsilon(delta=1e-5)
    """

    DEFAULT_ALPHAS = DEFAULT_ALPHAS

    def get_privacy_spent(self, *, delta: float, alphas=None) -> tuple:
        """``(epsilon, best alpha)`` spent so far; ``(0, 0)`` before any step."""
        if not self.history:
            return 0.0, 0.0
        alphas = self.DEFAULT_ALPHAS if alphas is None else alphas
        rdp = sum(compute_rdp(q=q, noise_multiplier=s, steps=n, orders=alphas)
                  for s, q, n in self.history)
        return get_privacy_spent(orders=alphas, rdp=rdp, delta=delta)

    def get_epsilon(self, delta: float, alphas=None, **kwargs) -> float:
        """Epsilon spent so far at ``delta``.

        Args:
            delta (float): target delta.
            alphas (sequence, optional): RDP orders; default :data:`DEFAULT_ALPHAS`.
            **kwargs: ignored (accepted so callers can pass PRV options).

        Returns:
            float.
        """
        return self.get_privacy_spent(delta=delta, alphas=alphas)[0]

    @classmethod
    def mechanism(cls) -> str:
        return "rdp"


ACCOUNTANTS = ("rdp", "prv")


def _accountant(name):
    """A fresh accountant by Opacus' name (``PrivacyEngine(accountant=...)``)."""
    if name == "rdp":
        return RDPAccountant()
    if name == "prv":
        from .prv import PRVAccountant
        return PRVAccountant()
    raise ValueError(f"accountant: expected one of {ACCOUNTANTS}, got {name!r}")


def get_noise_multiplier(*, target_epsilon: float, target_delta: float, sample_rate: float,
                         epochs: int | None = None, steps: int | None = None,
                         accountant: str = "rdp", epsilon_tolerance: float = 0.01,
                         **kwargs) -> float:
    """Smallest noise multiplier (to ``epsilon_tolerance``) whose epsilon after the run is
    at most ``target_epsilon``: Opacus' doubling then bisection search.

    Args:
        target_epsilon (float): the budget's epsilon.
        target_delta (float): the budget's delta.
        sample_rate (float): batch size / dataset size.
        epochs (int, optional): give this or ``steps``; ``steps = int(epochs / sample_rate)``.
        steps (int, optional): give this or ``epochs``.
        accountant (str): ``"rdp"`` (default) or ``"prv"`` (Opacus' names).
        epsilon_tolerance (float): stop when ``target - eps < tolerance``. Default 0.01.
        **kwargs: passed to the accountant's ``get_epsilon`` (e.g. ``eps_error`` for PRV).

    Returns:
        float: sigma.

    Raises:
        ValueError: both or neither of epochs/steps, or a budget no sigma <= 1e6 meets.
    """
    if (steps is None) == (epochs is None):
        raise ValueError("get_noise_multiplier: expected exactly one of epochs= or steps=, got "
                         f"epochs={epochs}, steps={steps}")
    check(target_epsilon > 0, "get_noise_multiplier", "target_epsilon > 0",
          repr(target_epsilon), cls=ValueError)
    steps = int(epochs / sample_rate) if steps is None else int(steps)
    acc = _accountant(accountant)
    lo, hi, eps_hi = 0.0, 10.0, math.inf
    while eps_hi > target_epsilon:
        hi *= 2
        acc.history = [(hi, sample_rate, steps)]
        eps_hi = acc.get_epsilon(delta=target_delta, **kwargs)
        if hi > 1e6:
            raise ValueError(f"get_noise_multiplier: expected a reachable budget, got "
                             f"epsilon={target_epsilon} at delta={target_delta} (too low)")
    while target_epsilon - eps_hi > epsilon_tolerance:
        mid = (lo + hi) / 2
        acc.history = [(mid, sample_rate, steps)]
        eps = acc.get_epsilon(delta=target_delta, **kwargs)
        if eps < target_epsilon:
            hi, eps_hi = mid, eps
        else:
            lo = mid
    return hi


def analytic_gaussian_epsilon(noise_multiplier: float, delta: float, steps: int = 1) -> float:
    """Exact epsilon of ``steps`` full-batch Gaussian steps (Balle & Wang 2018).

    ``k`` compositions of a Gaussian of multiplier ``sigma`` are one Gaussian of multiplier
    ``sigma / sqrt(k)``; ``delta(eps) = Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s)`` is
    solved for ``eps`` by bisection.

    Args:
        noise_multiplier (float): sigma.
        delta (float): target delta.
        steps (int): number of full-batch steps. Default 1.

    Returns:
        float.
    """
    from scipy.special import ndtr
    s = noise_multiplier / math.sqrt(steps)

    def dlt(e):
        return float(ndtr(0.5 / s - e * s) - math.exp(e) * ndtr(-0.5 / s - e * s))
    lo, hi = 0.0, 1.0
    while dlt(hi) > delta:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dlt(mid) > delta else (lo, mid)
    return hi

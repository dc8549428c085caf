"""Randomized smoothing (Cohen, Rosenfeld & Kolter 2019): the smoothed classifier
``g(x) = argmax_c P(f(x + N(0, sigma^2 I)) = c)`` with Monte-Carlo ``predict`` (abstains when
the top two classes are not separated by a binomial test) and ``certify`` (an L2 radius
``sigma * Phi^-1(pA_lower)`` from a one-sided Clopper-Pearson bound)."""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..errors import check
from ..optim import clip_grad_norm_
from ..train.step import compute_loss, split_batch
from ._util import as_array, frozen, logits_of

np = B.np

__all__ = ["RandomizedSmoothing", "gaussian_augmentation", "ABSTAIN"]

ABSTAIN = -1


class RandomizedSmoothing:
    """Cohen et al.'s smoothed classifier around a base model.

    Args:
        model (Module): base classifier (ideally trained with Gaussian noise of the same
            ``sigma``, see :func:`gaussian_augmentation`).
        sigma (float): noise standard deviation. Default 0.25.
        num_classes (int, optional): inferred from the model's output when None.
        batch_size (int): noisy samples per forward pass. Default 1000.

    Example:
        >>> rs = RandomizedSmoothing(model, sigma=0.25)
        >>> pred, radius = rs.certify(x, n0=100, n=1000, alpha=0.001)
    """

    def __init__(self, model, sigma: float = 0.25, num_classes: int | None = None,
                 batch_size: int = 1000):
        check(sigma > 0, "RandomizedSmoothing", "sigma > 0", f"sigma={sigma}")
        self.model, self.sigma, self.num_classes = model, float(sigma), num_classes
        self.batch_size = int(batch_size)

    def counts(self, x, n: int):
        """Class counts of ``n`` noisy copies of each input: ``(N, C)`` int (host)."""
        xa = as_array(x)
        xp = B.get_array_module(xa)
        per = max(1, self.batch_size // max(n, 1))
        out = []
        with frozen(self.model):
            for i in range(0, len(xa), per):
                xb = xa[i:i + per]
                done, cnt = 0, None
                while done < n:
                    k = min(n - done, max(1, self.batch_size // len(xb)))
                    rep = xp.repeat(xb, k, axis=0)
                    noise = B.rng().standard_normal(rep.shape).astype(xa.dtype) * self.sigma
                    pred = B.to_host(logits_of(self.model, rep + xp.asarray(noise)))
                    c = pred.shape[1] if self.num_classes is None else self.num_classes
                    lab = pred.argmax(axis=1).reshape(len(xb), k)
                    now = np.stack([(lab == j).sum(axis=1) for j in range(c)], axis=1)
                    cnt = now if cnt is None else cnt + now
                    done += k
                out.append(cnt)
        return np.concatenate(out)

    def predict(self, x, n: int = 100, alpha: float = 0.001):
        """Smoothed prediction per input, ``ABSTAIN`` (-1) where a two-sided binomial test of
        the top two counts is not significant at ``alpha``.

        Args:
            x (Tensor or array): ``(N, ...)``.
            n (int): noisy samples per input. Default 100.
            alpha (float): the test's level. Default 0.001.

        Returns:
            array: ``(N,)`` int64 (host).
        """
        from scipy.stats import binomtest
        cnt = self.counts(x, n)
        top2 = np.argsort(-cnt, axis=1, kind="stable")[:, :2]
        ar = np.arange(len(cnt))
        na, nb = cnt[ar, top2[:, 0]], cnt[ar, top2[:, 1]]
        pv = np.array([binomtest(int(a), int(a + b), 0.5).pvalue if a + b else 1.0
                       for a, b in zip(na, nb)])
        return np.where(pv <= alpha, top2[:, 0], ABSTAIN).astype(np.int64)

    def certify(self, x, n0: int = 100, n: int = 1000, alpha: float = 0.001):
        """Certified prediction and L2 radius per input (Cohen et al.'s CERTIFY).

        Args:
            x (Tensor or array): ``(N, ...)``.
            n0 (int): samples to select the top class. Default 100.
            n (int): samples to estimate its probability. Default 1000.
            alpha (float): failure probability. Default 0.001.

        Returns:
            tuple: ``(pred, radius)``, ``(N,)`` int64 and float64 (host); ``pred`` is
            ``ABSTAIN`` and ``radius`` 0 where ``pA_lower < 0.5``. With probability at least
            ``1 - alpha`` the smoothed classifier's label is constant within ``radius``.
        """
        from scipy.stats import beta, norm
        c_hat = self.counts(x, n0).argmax(axis=1)
        cnt = self.counts(x, n)
        na = cnt[np.arange(len(cnt)), c_hat]
        # one-sided Clopper-Pearson lower bound at level alpha (two-sided 2*alpha interval)
        p_lower = np.where(na > 0, beta.ppf(alpha, np.maximum(na, 1), n - na + 1), 0.0)
        ok = p_lower >= 0.5
        radius = np.where(ok, self.sigma * norm.ppf(np.clip(p_lower, 0.5, 1 - 1e-16)), 0.0)
        return np.where(ok, c_hat, ABSTAIN).astype(np.int64), radius

    @staticmethod
    def certified_accuracy(pred, radius, y, radii):
        """Fraction with ``pred == y`` and ``radius >= r`` for each ``r`` of ``radii``."""
        y = B.to_host(as_array(y))
        return [float(((pred == y) & (radius >= r)).mean()) for r in radii]


def gaussian_augmentation(sigma: float = 0.25, clip_min=None, clip_max=None):
    """A ``Trainer`` step on ``x + N(0, sigma^2)`` (the base-model training smoothing needs).

    Args:
        sigma (float): noise standard deviation. Default 0.25.
        clip_min, clip_max (float, optional): clip the noisy inputs. Default None (Cohen et
            al. do not clip).

    Returns:
        callable: ``step_fn(trainer, batch) -> dict``.
    """
    def step(trainer, batch) -> dict:
        x, y = split_batch(batch)
        xa = x.array
        noisy = xa + B.get_array_module(xa).asarray(
            B.rng().standard_normal(xa.shape).astype(xa.dtype) * sigma)
        if clip_min is not None or clip_max is not None:
            noisy = noisy.clip(clip_min, clip_max)
        trainer.optimizer.zero_grad()
        out = trainer.model(Tensor(noisy))
        loss = compute_loss(trainer, out, y)
        loss.backward()
        if trainer.grad_clip is not None:
            clip_grad_norm_(trainer.model.parameters(), trainer.grad_clip)
        trainer.optimizer.step()
        return {"loss": loss.item(), "y_pred": out.array, "y_true": y.array}

    return step



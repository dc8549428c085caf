"""Adversarial debiasing (Zhang, Lemoine & Mitchell 2018) through gradient reversal.

A predictor maps features to class logits; an adversary reads the predictor's score (and, for
equalized odds, the true label) and tries to recover the protected group. Between them sits a
gradient-reversal layer (Ganin & Lempitsky 2015): identity forward, ``-strength * grad``
backward. One backward pass of ``L_pred + L_adv`` then trains the adversary to find the group
and the predictor to predict the label while hiding the group from the adversary.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from .. import nn, optim
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..metrics._util import as_array
from ..train import Trainer
from ..train.step import split_batch
from .metrics import group_codes
from .mitigation import CONSTRAINTS, pack_targets

__all__ = ["GradientReversal", "grad_reverse", "AdversarialDebiasing"]

np = B.np


class _Reverse(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return (-self.strength * gy,)


def grad_reverse(x, strength: float = 1.0):
    """Identity forward; the gradient is multiplied by ``-strength`` backward.

    Args:
        x (Tensor): any shape.
        strength (float): reversal factor >= 0. Default 1.

    Returns:
        Tensor: same values as ``x``.
    """
    return _Reverse.apply(x, strength=float(strength))


class GradientReversal(nn.Module):
    """:func:`grad_reverse` as a layer. Args: strength (float): default 1.0."""

    def __init__(self, strength: float = 1.0):
        super().__init__()
        self.strength = float(strength)

    def forward(self, x):
        return grad_reverse(x, self.strength)


class _Pair(nn.Module):
    def __init__(self, predictor, adversary):
        super().__init__()
        self.predictor, self.adversary = predictor, adversary

    def forward(self, x):
        return self.predictor(x)


class AdversarialDebiasing:
    """Train a classifier whose scores carry little information about a protected group.

    Args:
        predictor (Module): features -> 2 class logits ``(N, 2)``.
        n_groups (int): number of protected groups. Default 2.
        strength (float): gradient-reversal factor (0 = plain training). Default 1.0.
        constraint (str): ``"demographic_parity"`` (the adversary sees the score) or
            ``"equalized_odds"`` (score and true label). Default ``"demographic_parity"``.
        adversary (Module, optional): default ``Linear(k, 16) - ReLU - Linear(16, n_groups)``
            on ``k`` = 1 (score) or 3 (score, score*y, y) inputs.
        lr (float): Adam learning rate of both networks. Default 1e-3.

    Example:
        >>> deb = AdversarialDebiasing(nn.Sequential(nn.Linear(20, 32), nn.ReLU(),
        ...                                          nn.Linear(32, 2)), strength=2.0)
        >>> deb.fit(x_train, y_train, afam_train, epochs=40, batch_size=64)
        >>> pred = deb.predict(x_test)
    """

    def __init__(self, predictor, n_groups: int = 2, strength: float = 1.0,
                 constraint: str = "demographic_parity", adversary=None, lr: float = 1e-3):
        check(constraint in CONSTRAINTS, "AdversarialDebiasing", f"constraint in {CONSTRAINTS}",
              repr(constraint), cls=ValueError)
        check(strength >= 0, "AdversarialDebiasing", "strength >= 0", repr(strength),
              cls=ValueError)
        k = 1 if constraint == "demographic_parity" else 3
        if adversary is None:
            adversary = nn.Sequential(nn.Linear(k, 16), nn.ReLU(), nn.Linear(16, n_groups))
        self.model = _Pair(predictor, adversary)
        self.predictor, self.adversary = predictor, adversary
        self.strength, self.constraint, self.lr = float(strength), constraint, float(lr)
        self.trainer = None

    def _adv_input(self, out, y):
        s = (out[:, 1] - out[:, 0]).reshape(-1, 1)
        s = grad_reverse(s, self.strength)
        if self.constraint == "demographic_parity":
            return s
        yt = Tensor(y.astype(s.dtype).reshape(-1, 1))
        return F.cat([s, s * yt, yt], dim=1)

    def _step(self, trainer, batch):
        x, packed = split_batch(batch)
        arr = packed.array
        y, a = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
        opt = trainer.optimizer
        opt.zero_grad()
        out = self.predictor(x)
        loss = F.cross_entropy(out, Tensor(y))
        adv = F.cross_entropy(self.adversary(self._adv_input(out, y)), Tensor(a))
        (loss + adv).backward()
        opt.step()
        return {"loss": loss.item(), "adv_loss": adv.item(), "y_pred": out.array, "y_true": y}

    def fit(self, X, y, sensitive_features, epochs: int = 30, batch_size: int = 64,
            verbose: int = 0, callbacks=()):
        """Train predictor and adversary together.

        Args:
            X: features ``(N, ...)``.
            y: labels ``(N,)`` in {0, 1}.
            sensitive_features: group per sample ``(N,)``.
            epochs (int): Default 30.
            batch_size (int): Default 64.
            verbose (int): Trainer verbosity. Default 0.
            callbacks: Trainer callbacks.

        Returns:
            History.
        """
        x = as_array(X)
        codes, labels, _ = group_codes(sensitive_features, len(x), "AdversarialDebiasing")
        self.groups = labels
        opt = optim.Adam(self.model.parameters(), lr=self.lr)
        self.trainer = Trainer(self.model, opt, F.cross_entropy, step_fn=self._step)
        return self.trainer.fit((x, pack_targets(y, codes)), epochs=epochs,
                                batch_size=batch_size, verbose=verbose, callbacks=callbacks)

    def decision_function(self, X):
        """Predictor logits ``(N, 2)`` (eval mode, no gradients)."""
        was = self.predictor.training
        self.predictor.eval()
        try:
            with no_grad():
                return self.predictor(Tensor(as_array(X))).numpy()
        finally:
            self.predictor.train(was)

    def predict_proba(self, X):
        """Positive-class probability ``(N,)``."""
        z = self.decision_function(X)
        return 1.0 / (1.0 + np.exp(-(z[:, 1] - z[:, 0])))

    def predict(self, X):
        """Predicted labels ``(N,)`` int64 (probability >= 0.5)."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)

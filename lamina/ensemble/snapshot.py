"""Ensembles from one training run (seed Q37): snapshot ensembles and stochastic weight
averaging.

- :class:`SnapshotEnsemble` (Huang et al. 2017): cosine-annealed learning rate with warm
  restarts; the weights at the end of each cycle (a local minimum) are one member.
- :class:`SWA` (Izmailov et al. 2018): after ``swa_start`` of the epochs, the learning rate is
  held at ``swa_lr`` and the weights are averaged once per epoch; BatchNorm statistics are then
  recomputed for the averaged weights (:func:`update_bn`), as ``torch.optim.swa_utils``.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn.normalization import _BatchNorm
from ..sklearn import NeuralNetClassifier
from ..train import Callback

__all__ = ["SnapshotEnsemble", "SWA", "update_bn"]

np = B.np


def _copy_state(model) -> dict:
    return {k: B.to_host(v).copy() for k, v in model.state_dict().items()}


class _Snapshots(Callback):
    def __init__(self, cycle: int):
        self.cycle, self.states = int(cycle), []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.cycle == 0:
            self.states.append(_copy_state(self.model))


def update_bn(model, X, batch_size: int = 256) -> None:
    """Recompute every BatchNorm's running mean and variance for the current weights: reset
    them and average over one pass of ``X`` (``momentum=None``), as ``swa_utils.update_bn``.

    Args:
        model (Module): the network (its train/eval mode is restored).
        X: inputs ``(N, ...)``, array.
        batch_size (int): Default 256.
    """
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    was = model.training
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with no_grad():
        for i in range(0, len(X), int(batch_size)):
            model(Tensor(np.asarray(X[i:i + batch_size], dtype=B.get_default_dtype())))
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was)


class SnapshotEnsemble(ClassifierMixin, BaseEstimator):
    """``n_snapshots`` members from one run with cosine warm restarts (lr from the
    estimator's ``lr`` down to ~0 every ``epochs_per_cycle`` epochs).

    Args:
        estimator: a ``NeuralNetClassifier`` (default ``NeuralNetClassifier()``); its
            ``max_epochs`` and ``scheduler`` are replaced.
        n_snapshots (int): members (cycles). Default 5.
        epochs_per_cycle (int): Default 10.
        random_state (int, optional): Default None.

    Attributes:
        net_ (NeuralNetClassifier): the trained network (last snapshot's weights).
        snapshots_ (list of dict): each member's state dict.
        classes_ (array): the class labels.
    """

    def __init__(self, estimator=None, n_snapshots=5, epochs_per_cycle=10, random_state=None):
        self.estimator, self.n_snapshots = estimator, n_snapshots
        self.epochs_per_cycle, self.random_state = epochs_per_cycle, random_state

    def fit(self, X, y, sample_weight=None):
        """One run of ``n_snapshots * epochs_per_cycle`` epochs; a snapshot per cycle.

        Returns:
            self.
        """
        check(int(self.n_snapshots) >= 1 and int(self.epochs_per_cycle) >= 1,
              "SnapshotEnsemble", "n_snapshots >= 1 and epochs_per_cycle >= 1",
              f"{self.n_snapshots}, {self.epochs_per_cycle}")
        base = self.estimator if self.estimator is not None else NeuralNetClassifier()
        snap = _Snapshots(self.epochs_per_cycle)
        net = clone(base).set_params(
            max_epochs=int(self.n_snapshots) * int(self.epochs_per_cycle),
            scheduler="CosineAnnealingWarmRestarts", scheduler__T_0=int(self.epochs_per_cycle),
            callbacks=[*(base.callbacks or ()), snap], random_state=self.random_state)
        self.net_ = net.fit(X, y, sample_weight=sample_weight)
        self.snapshots_ = snap.states
        self.classes_ = net.classes_
        self.n_features_in_ = net.n_features_in_
        return self

    def member_proba(self, X):
        """``(M, N, C)`` each snapshot's probabilities."""
        check_is_fitted(self, "snapshots_")
        final = _copy_state(self.net_.module_)
        out = []
        try:
            for state in self.snapshots_:
                self.net_.module_.load_state_dict(state)
                out.append(self.net_.predict_proba(X))
        finally:
            self.net_.module_.load_state_dict(final)
        return np.stack(out)

    def predict_proba(self, X):
        """Mean of the snapshots' probabilities ``(N, C)``."""
        return self.member_proba(X).mean(axis=0)

    def predict(self, X):
        """Labels ``(N,)`` of the averaged probabilities."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class _Averager(Callback):
    def __init__(self, start: int, swa_lr):
        self.start, self.swa_lr = int(start), swa_lr
        self.avg, self.n = None, 0

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.start and self.swa_lr is not None:
            for g in self.optimizer.param_groups:
                g["lr"] = float(self.swa_lr)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 <= self.start:
            return
        params = {k: B.to_host(p.array) for k, p in self.model.named_parameters()}
        if self.avg is None:
            self.avg = {k: v.astype(np.float64) for k, v in params.items()}
        else:
            for k, v in params.items():
                self.avg[k] += (v - self.avg[k]) / (self.n + 1)
        self.n += 1


class SWA(ClassifierMixin, BaseEstimator):
    """Stochastic weight averaging of one run, with the BatchNorm update.

    Args:
        estimator: a ``NeuralNetClassifier`` (default ``NeuralNetClassifier()``); its
            ``max_epochs`` is the total number of epochs.
        swa_start (float): fraction of the epochs before averaging starts. Default 0.75.
        swa_lr (float, optional): constant lr during averaging; None keeps the estimator's
            (and its scheduler's). Default None.
        random_state (int, optional): Default None.

    Attributes:
        net_ (NeuralNetClassifier): the network holding the averaged weights.
        n_averaged_ (int): epochs averaged.
        classes_ (array): the class labels.
    """

    def __init__(self, estimator=None, swa_start=0.75, swa_lr=None, random_state=None):
        self.estimator, self.swa_start = estimator, swa_start
        self.swa_lr, self.random_state = swa_lr, random_state

    def fit(self, X, y, sample_weight=None):
        """Train, average the weights of the last epochs, recompute BatchNorm statistics.

        Returns:
            self.
        """
        check(0.0 <= float(self.swa_start) < 1.0, "SWA", "swa_start in [0, 1)",
              repr(self.swa_start))
        base = self.estimator if self.estimator is not None else NeuralNetClassifier()
        start = int(float(self.swa_start) * int(base.max_epochs))
        avg = _Averager(start, self.swa_lr)
        net = clone(base).set_params(callbacks=[*(base.callbacks or ()), avg],
                                     random_state=self.random_state)
        net.fit(X, y, sample_weight=sample_weight)
        own = dict(net.module_.named_parameters())
        for k, v in avg.avg.items():
            own[k].array[...] = v.astype(own[k].dtype)
        Xv, _ = net._validate(X, reset=False)
        update_bn(net.module_, Xv, batch_size=int(net.batch_size))
        self.net_, self.n_averaged_ = net, avg.n
        self.classes_, self.n_features_in_ = net.classes_, net.n_features_in_
        return self

    def predict_proba(self, X):
        """Probabilities ``(N, C)`` of the averaged network."""
        check_is_fitted(self, "net_")
        return self.net_.predict_proba(X)

    def predict(self, X):
        """Labels ``(N,)`` of the averaged network."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

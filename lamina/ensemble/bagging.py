"""``BaggingNets``: independently trained networks, averaged (seed Q37).

With ``bootstrap=True`` each member sees a bootstrap resample (bagging, Breiman 1996); with
``bootstrap=False`` members differ only by their random initialization and batch order (the
"deep ensembles" of Lakshminarayanan et al. 2017, usually the stronger choice for networks).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import backend as B
from ..errors import check
from ..sklearn import NeuralNetClassifier
from ..sklearn import seeded
from .diversity import pairwise_diversity

__all__ = ["BaggingNets", "average_member_proba"]

np = B.np


def average_member_proba(members, X, classes):
    """``(M, N, C)`` probabilities of fitted classifiers, columns aligned to ``classes``
    (a member that never saw a class gives it probability 0)."""
    out = np.zeros((len(members), len(X), len(classes)))
    for k, m in enumerate(members):
        cols = np.searchsorted(classes, m.classes_)
        out[k][:, cols] = m.predict_proba(X)
    return out


class BaggingNets(ClassifierMixin, BaseEstimator):
    """Average the probabilities of ``n_estimators`` networks trained independently.

    Args:
        estimator: a classifier (default ``NeuralNetClassifier()``); cloned per member, each
            with its own ``random_state``.
        n_estimators (int): members. Default 5.
        bootstrap (bool): resample the training set per member. Default False (members differ
            by initialization and batch order only).
        max_samples (float): bootstrap size as a fraction of ``n``. Default 1.0.
        random_state (int, optional): seeds the members and the resamples. Default None.

    Attributes:
        estimators_ (list): fitted members.
        classes_ (array): labels.

    Example:
        >>> ens = BaggingNets(NeuralNetClassifier(max_epochs=20), n_estimators=5).fit(X, y)
        >>> ens.score(X_test, y_test), ens.diversity(X_test, y_test)
    """

    def __init__(self, estimator=None, n_estimators=5, bootstrap=False, max_samples=1.0,
                 random_state=None):
        self.estimator, self.n_estimators = estimator, n_estimators
        self.bootstrap, self.max_samples, self.random_state = bootstrap, max_samples, random_state

    def fit(self, X, y, sample_weight=None):
        """Fit every member (on a bootstrap sample when ``bootstrap``).

        Args:
            X, y: training data. sample_weight: passed to each member. Default None.

        Returns:
            self.
        """
        check(int(self.n_estimators) >= 1, "BaggingNets", "n_estimators >= 1",
              repr(self.n_estimators))
        X, y = validate_data(self, X, y, allow_nd=True)
        self.classes_ = np.unique(y)
        base = self.estimator if self.estimator is not None else NeuralNetClassifier()
        with seeded(self.random_state):
            seeds = B.rng().integers(0, 2**31 - 1, size=int(self.n_estimators))
            n_draw = max(int(round(float(self.max_samples) * len(X))), 1)
            draws = [B.rng().integers(0, len(X), size=n_draw) for _ in seeds]
        self.estimators_ = []
        for seed, idx in zip(seeds, draws):
            idx = idx if self.bootstrap else np.arange(len(X))
            member = clone(base).set_params(random_state=int(seed))
            kw = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[idx]}
            self.estimators_.append(member.fit(X[idx], y[idx], **kw))
        return self

    def member_proba(self, X):
        """``(M, N, C)`` each member's probabilities."""
        check_is_fitted(self, "estimators_")
        return average_member_proba(self.estimators_, X, self.classes_)

    def predict_proba(self, X):
        """Mean of the members' probabilities ``(N, C)``."""
        return self.member_proba(X).mean(axis=0)

    def predict(self, X):
        """The label with the largest mean probability ``(N,)``."""
        p = self.predict_proba(X)
        return self.classes_[p.argmax(axis=1)]

    def diversity(self, X, y):
        """Pairwise disagreement, Q-statistic and mean member accuracy on ``(X, y)``."""
        preds = self.classes_[self.member_proba(X).argmax(axis=2)]
        return pairwise_diversity(preds, y)

"""``lamina.ensemble``: ensembles of networks (seed Q37).

Bagging / deep ensembles (:class:`BaggingNets`), one-run ensembles (:class:`SnapshotEnsemble`,
:class:`SWA` with :func:`update_bn`), and diversity measures. Stacking, voting and boosting use
scikit-learn's meta-estimators around :class:`lamina.sklearn.NeuralNetClassifier`
(``StackingClassifier``, ``VotingClassifier``, ``AdaBoostClassifier``: sample weights are
honoured).
"""

from .bagging import BaggingNets, average_member_proba
from .diversity import disagreement, pairwise_diversity, q_statistic
from .snapshot import SWA, SnapshotEnsemble, update_bn

__all__ = ["BaggingNets", "SnapshotEnsemble", "SWA", "update_bn", "disagreement",
           "q_statistic", "pairwise_diversity", "average_member_proba"]

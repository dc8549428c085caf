"""``lamina.sklearn``: lamina networks as scikit-learn estimators (seed Q36, Q40, Q42, Q43).

Example:
    >>> from lamina.sklearn import NeuralNetClassifier
    >>> from sklearn.model_selection import GridSearchCV
    >>> net = NeuralNetClassifier(max_epochs=20, random_state=0)
    >>> GridSearchCV(net, {"module__hidden": [(64,), (128,)], "lr": [1e-3, 1e-2]}).fit(X, y)
"""

from .estimators import NeuralNetBinaryClassifier, NeuralNetClassifier, NeuralNetRegressor
from .imbalance import BalancedBatchSampler, tune_threshold
from .net import NeuralNet, seeded

__all__ = ["NeuralNet", "NeuralNetClassifier", "NeuralNetBinaryClassifier",
           "NeuralNetRegressor", "BalancedBatchSampler", "tune_threshold", "seeded"]

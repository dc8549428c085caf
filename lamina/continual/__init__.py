"""``lamina.continual``: learning tasks one after another without forgetting the old ones
(seed Q50: lifelong learning).

Task streams (:func:`split_classes`), the class- and task-incremental protocols, strategies
(:class:`Naive`, :class:`EWC`, :class:`LwF`, :class:`Replay`) run as hooks in the Trainer step,
and the accuracy matrix with average accuracy, backward transfer and forgetting.

Example:
    >>> from lamina.continual import split_classes, train_stream, Replay
    >>> tasks = split_classes(lamina.datasets.load("digits", flatten=True), n_tasks=5)
    >>> res = train_stream(MLP(64, (256,), 10), tasks, Replay(per_class=20), epochs=10)
    >>> res.matrix, res.average_accuracy
"""

from .learner import StreamLearner, StreamResult, train_stream
from .metrics import average_accuracy, backward_transfer, forgetting, plot_accuracy_matrix
from .strategies import EWC, LwF, Naive, Replay, Strategy
from .stream import Task, split_classes

__all__ = ["Task", "split_classes", "Strategy", "Naive", "EWC", "LwF", "Replay",
           "StreamLearner", "StreamResult", "train_stream", "average_accuracy",
           "backward_transfer", "forgetting", "plot_accuracy_matrix"]

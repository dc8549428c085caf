"""Train one model on a stream of tasks and record the accuracy matrix.

Two protocols (van de Ven & Tolias 2019): ``"class"``-incremental, one output layer over every
class and no task label at test time; ``"task"``-incremental, the task is known, so the logits
of classes outside the sample's task are masked out in training and at test time (a multi-head
network sharing one output layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import backend as B
from .. import functional as F
from ..autograd.creation import tensor
from ..errors import check
from ..nn.utils import batched_eval
from ..train.step import split_batch
from .metrics import average_accuracy, backward_transfer, forgetting, plot_accuracy_matrix
from .strategies import Naive, Strategy

np = B.np

__all__ = ["StreamLearner", "StreamResult", "train_stream"]

_MASK = -1e9  # added to masked logits: exp underflows to exactly 0 in float32


@dataclass
class StreamResult:
    """What :func:`train_stream` returns.

    Attributes:
        matrix (array): accuracy matrix ``R`` ``(T, T)``: ``R[i, j]`` is the accuracy on task
            j after training on task i.
        protocol (str): ``"class"`` or ``"task"``.
        histories (list): the Trainer history of each task.
    """

    matrix: object
    protocol: str
    histories: list

    @property
    def average_accuracy(self) -> float:
        """Final mean accuracy over all tasks."""
        return average_accuracy(self.matrix)

    @property
    def backward_transfer(self) -> float:
        """See :func:`~lamina.continual.backward_transfer`."""
        return backward_transfer(self.matrix)

    @property
    def forgetting(self) -> float:
        """See :func:`~lamina.continual.forgetting`."""
        return forgetting(self.matrix)

    def plot(self, path=None, title=None):
        """:func:`~lamina.continual.plot_accuracy_matrix` of :attr:`matrix`."""
        return plot_accuracy_matrix(self.matrix, path, title)


class StreamLearner:
    """A model, its strategies and the protocol; builds the Trainer step for each task.

    Args:
        model (Module): a classifier with one logit per class of the whole stream.
        strategies (Strategy or sequence): applied in order (e.g. ``[Replay(20), EWC()]``).
            Default: :class:`Naive`.
        protocol (str): ``"class"`` (default) or ``"task"``.
        n_classes (int, optional): logits of the model. Default: inferred from the tasks.
    """

    def __init__(self, model, strategies=None, protocol: str = "class", n_classes=None):
        check(protocol in ("class", "task"), "StreamLearner", "protocol 'class' or 'task'",
              repr(protocol), cls=ValueError)
        if strategies is None:
            strategies = [Naive()]
        elif isinstance(strategies, Strategy):
            strategies = [strategies]
        self.model, self.strategies, self.protocol = model, list(strategies), protocol
        self.n_classes = n_classes
        self.task_of = None  # class id -> task index (task-incremental masks)
        self.seen_classes: set = set()

    def set_tasks(self, tasks) -> None:
        """Record which task each class belongs to (needed for task-incremental masks)."""
        n = self.n_classes or 1 + max(max(t.classes) for t in tasks)
        self.n_classes = n
        self.task_of = np.full(n, -1, dtype=np.int64)
        for t in tasks:
            self.task_of[list(t.classes)] = t.index

    def masked(self, out, y):
        """Task-incremental: logits of classes outside each sample's task set to -1e9
        (unchanged in the class-incremental protocol)."""
        if self.protocol == "class":
            return out
        labels = np.asarray(y.array if hasattr(y, "array") else y).reshape(-1)
        same = self.task_of[None, :] == self.task_of[labels][:, None]
        return out + tensor(np.where(same, 0.0, _MASK).astype(out.dtype))

    def step(self, trainer, batch) -> dict:
        """The Trainer ``step_fn``: strategies' batch, masked cross-entropy plus their losses."""
        x, y = split_batch(batch)
        for s in self.strategies:
            x, y = s.augment(self, x, y)
        opt = trainer.optimizer
        opt.zero_grad()
        out = self.model(x)
        loss = F.cross_entropy(self.masked(out, y), y)
        for s in self.strategies:
            extra = s.loss(self, x, y, out)
            if extra is not None:
                loss = loss + extra
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def evaluate(self, task, batch_size: int = 512) -> float:
        """Test accuracy on ``task`` under the protocol."""
        out = batched_eval(self.model, task.x_test, batch_size=batch_size).astype(np.float64)
        if self.protocol == "task":
            out = np.where(self.task_of[None, :] == task.index, out, -np.inf)
        return float(np.mean(out.argmax(axis=1) == np.asarray(task.y_test)))


def _optimizer(spec, params, lr):
    from .. import optim
    if callable(spec):
        return spec(params)
    names = {"adam": optim.Adam, "sgd": optim.SGD}
    check(spec in names, "train_stream", f"optimizer a callable or one of {sorted(names)}",
          repr(spec), cls=ValueError)
    return names[spec](params, lr=lr)


def train_stream(model, tasks, strategies=None, protocol: str = "class", epochs: int = 5,
                 batch_size: int = 32, lr: float = 1e-3, optimizer="adam", verbose: int = 0,
                 callbacks=()) -> StreamResult:
    """Train ``model`` on each task in turn and evaluate it on every task after each one.

    Each task gets a fresh optimizer and a :class:`~lamina.train.Trainer` whose ``step_fn`` is
    :meth:`StreamLearner.step`, so callbacks (logging, checkpoints) work as in any fit.

    Args:
        model (Module): classifier over all the stream's classes.
        tasks (list of Task): from :func:`~lamina.continual.split_classes`.
        strategies (Strategy or sequence, optional): default :class:`Naive`.
        protocol (str): ``"class"`` (default) or ``"task"``.
        epochs (int): epochs per task. Default 5.
        batch_size (int): default 32.
        lr (float): learning rate of a named optimizer. Default 1e-3.
        optimizer (str or callable): ``"adam"`` (default), ``"sgd"`` or ``params -> Optimizer``.
        verbose (int): Trainer verbosity. Default 0.
        callbacks (sequence): Trainer callbacks for every task. Default ().

    Returns:
        StreamResult: the accuracy matrix and its summaries.

    Example:
        >>> tasks = split_classes(datasets.load("digits", flatten=True), 5)
        >>> res = train_stream(MLP(64, (256,), 10), tasks, Replay(per_class=20))
        >>> res.average_accuracy, res.forgetting
    """
    from ..train import Trainer
    learner = StreamLearner(model, strategies, protocol)
    learner.set_tasks(tasks)
    T = len(tasks)
    R = np.zeros((T, T))
    histories = []
    for i, task in enumerate(tasks):
        for s in learner.strategies:
            s.before_task(learner, task)
        trainer = Trainer(model, _optimizer(optimizer, model.parameters(), lr), None,
                          metrics=(), step_fn=learner.step)
        histories.append(trainer.fit((task.x_train, task.y_train), epochs=epochs,
                                     batch_size=batch_size, verbose=verbose,
                                     callbacks=callbacks))
        for s in learner.strategies:
            s.after_task(learner, task)
        learner.seen_classes.update(task.classes)
        R[i] = [learner.evaluate(t) for t in tasks]
    return StreamResult(R, protocol, histories)

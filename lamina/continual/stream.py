"""Task streams: a classification dataset cut into tasks of disjoint classes (split MNIST /
split digits, Zenke et al. 2017; van de Ven & Tolias 2019's scenarios)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array

np = B.np

__all__ = ["Task", "split_classes"]


@dataclass(eq=False)
class Task:
    """One task of a stream: its classes and its train/test arrays.

    Attributes:
        index (int): position in the stream (0-based).
        classes (tuple of int): the labels this task holds (global label ids).
        x_train, y_train, x_test, y_test: NumPy arrays (labels keep their global ids).
    """

    index: int
    classes: tuple
    x_train: object
    y_train: object
    x_test: object
    y_test: object

    def __repr__(self) -> str:
        return (f"Task({self.index}, classes={self.classes}, train={len(self.y_train)}, "
                f"test={len(self.y_test)})")


def split_classes(data, n_tasks: int = 5, class_order=None) -> list:
    """Cut a classification dataset into ``n_tasks`` tasks with disjoint, equal-size class sets.

    Args:
        data: a :class:`~lamina.datasets.DatasetSplit` (e.g. ``datasets.load("digits")``) or
            a tuple ``(x_train, y_train, x_test, y_test)``.
        n_tasks (int): number of tasks; must divide the number of classes. Default 5 (digits
            and MNIST become the five 2-class tasks {0, 1}, {2, 3}, ..., {8, 9}).
        class_order (sequence of int, optional): a permutation of the classes; consecutive
            groups form the tasks. Default: sorted labels.

    Returns:
        list of :class:`Task`.

    Example:
        >>> tasks = split_classes(datasets.load("digits", flatten=True), n_tasks=5)
        >>> tasks[1].classes
        (2, 3)
    """
    if hasattr(data, "x_train"):
        xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test
    else:
        check(isinstance(data, (tuple, list)) and len(data) == 4, "split_classes",
              "a DatasetSplit or (x_train, y_train, x_test, y_test)", type(data).__name__)
        xtr, ytr, xte, yte = data
    xtr, xte = as_array(xtr), as_array(xte)
    ytr, yte = as_array(ytr).reshape(-1), as_array(yte).reshape(-1)
    classes = np.unique(ytr) if class_order is None else np.asarray(class_order)
    check(set(classes.tolist()) == set(np.unique(ytr).tolist()), "split_classes",
          "class_order a permutation of the training labels",
          f"{classes.tolist()} for labels {np.unique(ytr).tolist()}")
    check(int(n_tasks) >= 1 and len(classes) % int(n_tasks) == 0, "split_classes",
          f"n_tasks dividing the {len(classes)} classes", repr(n_tasks))
    per = len(classes) // int(n_tasks)
    tasks = []
    for i in range(int(n_tasks)):
        cls = tuple(int(c) for c in classes[i * per:(i + 1) * per])
        mtr, mte = np.isin(ytr, cls), np.isin(yte, cls)
        tasks.append(Task(i, cls, xtr[mtr], ytr[mtr], xte[mte], yte[mte]))
    return tasks

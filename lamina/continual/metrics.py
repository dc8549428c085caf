"""The accuracy matrix of a task stream and its summaries (Lopez-Paz & Ranzato 2017;
Chaudhry et al. 2018).

``R[i, j]`` is the test accuracy on task j after training on tasks 0..i. Entries above the
diagonal are tasks not seen yet.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array

np = B.np

__all__ = ["average_accuracy", "backward_transfer", "forgetting", "plot_accuracy_matrix"]


def _square(op, R):
    R = as_array(R).astype(np.float64)
    check(R.ndim == 2 and R.shape[0] == R.shape[1] and R.shape[0] >= 1, op,
          "a square accuracy matrix (T, T)", f"{R.shape}")
    return R


def average_accuracy(R, after: int | None = None) -> float:
    """Mean accuracy over the tasks seen so far: ``mean_{j <= t} R[t, j]``.

    Args:
        R: accuracy matrix ``(T, T)``.
        after (int, optional): the row t. Default: the last (the final average accuracy).

    Returns:
        float.
    """
    R = _square("average_accuracy", R)
    t = len(R) - 1 if after is None else int(after)
    return float(R[t, :t + 1].mean())


def backward_transfer(R) -> float:
    """``mean_{j < T-1} (R[T-1, j] - R[j, j])``: how later training changed earlier tasks
    (negative = forgetting). 0.0 for a single task."""
    R = _square("backward_transfer", R)
    T = len(R)
    if T < 2:
        return 0.0
    return float(np.mean([R[-1, j] - R[j, j] for j in range(T - 1)]))


def forgetting(R) -> float:
    """Average forgetting ``mean_{j < T-1} (max_{i < T-1} R[i, j] - R[T-1, j])``: the drop
    from each earlier task's best accuracy to its final one. 0.0 for a single task."""
    R = _square("forgetting", R)
    T = len(R)
    if T < 2:
        return 0.0
    return float(np.mean([R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)]))


def plot_accuracy_matrix(R, path=None, title: str | None = None, task_names=None):
    """Heat map of ``R`` with each cell's accuracy written in it (matplotlib, Agg).

    Args:
        R: accuracy matrix ``(T, T)``.
        path (str or Path, optional): write the PNG here. Default None.
        title (str, optional): the average accuracy and forgetting are appended.
        task_names (sequence of str, optional): tick labels. Default ``"T0"``, ``"T1"``...

    Returns:
        matplotlib Figure (closed after saving when ``path`` is given).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    R = _square("plot_accuracy_matrix", R)
    T = len(R)
    names = list(task_names) if task_names is not None else [f"T{i}" for i in range(T)]
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * T, 0.9 + 0.7 * T))
    ax.imshow(R, vmin=0, vmax=1, cmap="viridis")
    for i in range(T):
        for j in range(T):
            ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if R[i, j] < 0.6 else "black")
    ax.set_xticks(range(T), names)
    ax.set_yticks(range(T), [f"after {n}" for n in names])
    ax.set_xlabel("evaluated on")
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}avg acc {average_accuracy(R):.2f}, forgetting {forgetting(R):.2f}",
                 fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=80)
        plt.close(fig)
    return fig

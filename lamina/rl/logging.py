"""Logging for agents: a progress bar with the mean return, TensorBoard scalars, learning-curve
figures (mean +- std over seeds) and GIFs of an episode.

The callbacks are :class:`lamina.train.Callback` subclasses; an agent calls
``on_train_begin``, ``on_epoch_end(update, logs)`` after every update, and ``on_train_end``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

from .. import backend as B
from ..train.callbacks.base import Callback

np = B.np

__all__ = ["RLProgressBar", "RLTensorBoard", "plot_learning_curves", "render_gif",
           "curve_on_grid"]


class RLProgressBar(Callback):
    """Timesteps done, steps/s and the mean return of the last 100 episodes.

    A rich live bar on a terminal; otherwise one line every ``every`` seconds.

    Args:
        stream: Default ``sys.stdout``.
        every (float): seconds between plain lines. Default 5.
    """

    def __init__(self, stream=None, every: float = 5.0):
        self.stream, self.every = stream, float(every)
        self._progress = None

    def on_train_begin(self, logs=None):
        out = self.stream or sys.stdout
        self._t0 = self._last = time.perf_counter()
        self._start = self.trainer.num_timesteps
        self._total = self.trainer.params["total_timesteps"]
        if getattr(out, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            self._progress = Progress(TextColumn(type(self.trainer).__name__), BarColumn(),
                                      MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                      console=Console(file=out), transient=True)
            self._progress.start()
            self._task = self._progress.add_task("rl", total=self._total, info="")

    def _line(self, logs):
        dt = time.perf_counter() - self._t0
        sps = (logs["timesteps"] - self._start) / max(dt, 1e-9)
        return f"mean_return={logs['mean_return']:.1f} {sps:.0f} steps/s"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._progress is not None:
            self._progress.update(self._task, completed=logs["timesteps"], info=self._line(logs))
        elif time.perf_counter() - self._last >= self.every:
            self._last = time.perf_counter()
            print(f"{logs['timesteps']}/{self._total} {self._line(logs)}",
                  file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class RLTensorBoard(Callback):
    """Every update's logs as TensorBoard scalars (``rl/<key>``) at step = timesteps.

    Args:
        log_dir (str): Default ``"runs"``.

    Raises:
        ImportError: tensorboardX is not installed.
    """

    def __init__(self, log_dir="runs"):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("RLTensorBoard: expected the optional dependency tensorboardX, "
                              "got none installed; run `pip install tensorboardX`") from e
        self.writer = SummaryWriter(os.fspath(log_dir))

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        step = int(logs.pop("timesteps", epoch))
        for k, v in logs.items():
            if v == v:  # skip NaN (no episode finished yet)
                self.writer.add_scalar(f"rl/{k}", float(v), step)

    def on_train_end(self, logs=None):
        self.writer.flush()


def curve_on_grid(history, grid, window: int = 10):
    """Smoothed episode return (mean of the last ``window`` episodes) at each timestep of
    ``grid``, from an agent's :attr:`history` (NaN before the first episode)."""
    t = np.asarray(history.history.get("timesteps", []), np.float64)
    r = np.asarray(history.history.get("episode_return", []), np.float64)
    out = np.full(len(grid), np.nan)
    for j, g in enumerate(grid):
        k = int(np.searchsorted(t, g, side="right"))
        if k:
            out[j] = r[max(0, k - window):k].mean()
    return out


def plot_learning_curves(runs: dict, path, title: str = "", n_points: int = 100,
                         threshold: float | None = None) -> None:
    """PNG of mean +- std (over seeds) of the smoothed training return against timesteps.

    Args:
        runs (dict[str, list[History]]): label -> one agent ``history`` per seed.
        path (str): PNG destination.
        title (str): figure title.
        n_points (int): grid points on the timestep axis. Default 100.
        threshold (float, optional): a dashed horizontal line (e.g. the "solved" return).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=90)
    for label, hists in runs.items():
        end = max(max(h.history.get("timesteps", [0]) or [0]) for h in hists)
        grid = np.linspace(0, end, n_points)
        ys = np.stack([curve_on_grid(h, grid) for h in hists])
        with warnings.catch_warnings():   # grid points before any seed's first episode
            warnings.simplefilter("ignore", RuntimeWarning)
            m, s = np.nanmean(ys, axis=0), np.nanstd(ys, axis=0)
        ax.plot(grid, m, label=f"{label} ({len(hists)} seeds)")
        ax.fill_between(grid, m - s, m + s, alpha=0.25)
    if threshold is not None:
        ax.axhline(threshold, ls="--", c="gray", lw=1)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.fspath(path))
    plt.close(fig)


def render_gif(agent, path, max_steps: int = 500, seed: int = 0, fps: int = 30,
               scale: float = 0.5) -> int:
    """Play one greedy episode with ``rgb_array`` rendering and write a GIF (Pillow).

    Args:
        agent (Agent): a trained agent built from an environment id.
        path (str): GIF destination.
        max_steps (int): frames at most. Default 500.
        seed (int): reset seed. Default 0.
        fps (int): Default 30.
        scale (float): frame size factor (keeps the file small). Default 0.5.

    Returns:
        int: frames written.
    """
    from PIL import Image
    env = agent._single_env(render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    frames = []
    for _ in range(int(max_steps)):
        frame = Image.fromarray(env.render())
        w, h = frame.size
        frames.append(frame.resize((max(1, int(w * scale)), max(1, int(h * scale)))))
        obs, _, term, trunc, _ = env.step(agent.predict(obs))
        if term or trunc:
            break
    env.close()
    frames[0].save(os.fspath(path), save_all=True, append_images=frames[1:],
                   duration=int(1000 / fps), loop=0, optimize=True)
    return len(frames)

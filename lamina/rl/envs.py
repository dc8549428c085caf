"""Environments: gymnasium ids or instances, vectorized, with running normalization.

gymnasium is imported lazily (``pip install 'lamina[rl]'``). Vector environments reset a
finished sub-environment in the same step (``AutoresetMode.SAME_STEP``) and hand its last
observation back in ``info["final_obs"]``, so a time-limit truncation can be bootstrapped with
the value of the state the episode really reached (truncation is not termination).
"""

from __future__ import annotations

from .. import backend as B
from ..errors import op_error

np = B.np

__all__ = ["gym", "make_vec_env", "space_info", "RunningMeanStd", "final_observations"]


def gym():
    """The ``gymnasium`` module, or an ImportError that names the extra to install."""
    try:
        import gymnasium
    except ImportError as e:
        raise ImportError("lamina.rl: expected the optional dependency gymnasium, got none "
                          "installed; run `pip install 'lamina[rl]'`") from e
    return gymnasium


def _env_fn(env, op):
    g = gym()
    if isinstance(env, str):
        def make():
            return g.make(env)
        try:
            g.spec(env)
        except Exception as e:  # gymnasium raises its own Error subclasses
            raise op_error(op, "a registered gymnasium environment id (e.g. 'CartPole-v1')",
                           repr(env), cls=ValueError) from e
        return make
    if isinstance(env, g.Env):
        return lambda: env
    if callable(env) and not isinstance(env, type):
        return env
    raise op_error(op, "a gymnasium.Env instance, an environment id string or a callable that "
                   "returns a gymnasium.Env", f"{type(env).__name__} ({env!r:.60})",
                   cls=TypeError)


def make_vec_env(env, n_envs: int = 1, vectorization: str = "sync", op: str = "make_vec_env"):
    """A gymnasium vector environment of ``n_envs`` copies of ``env``.

    Args:
        env (str | gymnasium.Env | gymnasium.vector.VectorEnv | callable): an id such as
            ``"CartPole-v1"``, an instance (then ``n_envs`` must be 1), a vector env (used as it
            is) or a function returning a fresh ``Env``.
        n_envs (int): copies. Default 1.
        vectorization (str): ``"sync"`` (``SyncVectorEnv``, one process) or ``"async"``
            (``AsyncVectorEnv``, one subprocess per copy). Default ``"sync"``.
        op (str): the name used in error messages.

    Returns:
        gymnasium.vector.VectorEnv: with ``autoreset_mode=SAME_STEP``.

    Raises:
        TypeError: ``env`` is not a gymnasium environment.
        ValueError: an unknown id, or ``n_envs > 1`` with a single instance.
    """
    g = gym()
    if isinstance(env, g.vector.VectorEnv):
        mode = env.metadata.get("autoreset_mode")
        if mode is not None and mode != g.vector.AutoresetMode.SAME_STEP:
            raise op_error(op, "a vector env with autoreset_mode=AutoresetMode.SAME_STEP",
                           f"{mode}", "build it with autoreset_mode='SameStep' or pass an id",
                           cls=ValueError)
        return env
    fn = _env_fn(env, op)
    if isinstance(env, g.Env) and n_envs != 1:
        raise op_error(op, "n_envs == 1 for an Env instance (it cannot be copied)",
                       f"n_envs={n_envs}", "pass the environment id instead", cls=ValueError)
    if vectorization not in ("sync", "async"):
        raise op_error(op, "vectorization in ('sync', 'async')", repr(vectorization),
                       cls=ValueError)
    cls = g.vector.SyncVectorEnv if vectorization == "sync" else g.vector.AsyncVectorEnv
    return cls([fn] * int(n_envs), autoreset_mode=g.vector.AutoresetMode.SAME_STEP)


def space_info(space, op: str, allowed=("Discrete", "Box")):
    """``("discrete", n)`` or ``("box", (low, high, shape))`` for an action space.

    Raises:
        ValueError: any other space (the message names it and the ones supported).
    """
    g = gym()
    if isinstance(space, g.spaces.Discrete) and "Discrete" in allowed:
        return "discrete", int(space.n)
    if isinstance(space, g.spaces.Box) and "Box" in allowed:
        return "box", (np.asarray(space.low, np.float32), np.asarray(space.high, np.float32),
                       tuple(space.shape))
    raise op_error(op, f"an action space of type {' or '.join(allowed)}",
                   f"{type(space).__name__} {space}", cls=ValueError)


def final_observations(obs, infos, done):
    """``obs`` with the rows of finished sub-environments replaced by their last observation.

    Args:
        obs (ndarray): ``(n_envs, *obs_shape)`` observations returned by ``step`` (already the
            reset observation where an episode ended).
        infos (dict): the vector env's info dict (``final_obs``, ``_final_obs``).
        done (ndarray): ``(n_envs,)`` bool, terminated or truncated.

    Returns:
        ndarray: a copy of ``obs`` holding the true next observation of every row.
    """
    nxt = np.array(obs, copy=True)
    if done.any() and "final_obs" in infos:
        for i in np.flatnonzero(infos["_final_obs"]):
            nxt[i] = infos["final_obs"][i]
    return nxt


class RunningMeanStd:
    """Running mean and variance (Chan's parallel update), as SB3's ``VecNormalize`` keeps.

    Args:
        shape (tuple): shape of one sample. Default ``()``.
        epsilon (float): initial count, keeps the first update finite. Default 1e-4.
    """

    def __init__(self, shape=(), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = float(epsilon)

    def update(self, x) -> None:
        """Fold a batch ``(n, *shape)`` into the statistics."""
        x = np.asarray(x, np.float64)
        bm, bv, n = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta, tot = bm - self.mean, self.count + n
        self.mean = self.mean + delta * n / tot
        m2 = self.var * self.count + bv * n + delta ** 2 * self.count * n / tot
        self.var, self.count = m2 / tot, tot

    def normalize(self, x, clip: float = 10.0):
        """``clip((x - mean) / sqrt(var + 1e-8))`` as float32."""
        y = (np.asarray(x, np.float64) - self.mean) / np.sqrt(self.var + 1e-8)
        return np.clip(y, -clip, clip).astype(np.float32)

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": np.asarray(self.count)}

    def load_state_dict(self, state: dict) -> None:
        self.mean = np.asarray(state["mean"], np.float64)
        self.var = np.asarray(state["var"], np.float64)
        self.count = float(np.asarray(state["count"]))

"""``Agent``: the interface every algorithm shares (environment handling, acting, logging,
evaluation, save/load, presets). An algorithm subclass adds ``_build()`` (networks and
optimizer) and ``_learn(total_timesteps)`` (its loop), and reads top-down in its own file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os

from .. import backend as B
from ..errors import op_error
from ..train.callbacks.base import CallbackList
from ..train.history import History
from .envs import RunningMeanStd, final_observations, gym, make_vec_env, space_info

np = B.np

__all__ = ["Agent"]

COMMON = {"n_envs": 1, "gamma": 0.99, "learning_rate": 3e-4, "net_arch": [64, 64],
          "activation": "tanh", "normalize_obs": False, "normalize_reward": False,
          "action_mode": "clip", "vectorization": "sync", "n_threads": 1}


class Agent:
    """Base class of :class:`~lamina.rl.PPO`, :class:`~lamina.rl.A2C`,
    :class:`~lamina.rl.DQN` and :class:`~lamina.rl.REINFORCE`.

    Args:
        env (str | gymnasium.Env | VectorEnv | callable): an id (``"CartPole-v1"``), an
            instance, a vector env (``autoreset_mode=SAME_STEP``) or an env factory.
        policy (str): ``"MlpPolicy"`` (the only one: MLPs on flat observations).
        seed (int, optional): seeds lamina's generator (network init, sampling, minibatches)
            and the environments (``reset(seed=seed + i)``); same seed, same returns.
        **hyperparams: the algorithm's ``defaults`` (listed on each class) and the common
            ones: ``n_envs`` (1), ``gamma`` (0.99), ``learning_rate`` (3e-4, a number or
            ``"lin_<x>"``), ``net_arch`` ([64, 64]), ``activation`` ("tanh"),
            ``normalize_obs``/``normalize_reward`` (False; running statistics as SB3's
            ``VecNormalize``), ``action_mode`` ("clip" or "squash" for Box actions),
            ``vectorization`` ("sync" or "async"), ``n_threads`` (1 BLAS thread while
            learning, which is fastest for small MLPs).

    Attributes:
        history (History): one entry per finished training episode: ``episode_return``,
            ``episode_length`` and ``timesteps`` (raw rewards, before any normalization).
        logs (History): one entry per update: losses and ``mean_return`` (last 100 episodes).
        num_timesteps (int): environment transitions so far (a step of 8 envs counts 8).

    Raises:
        TypeError: ``env`` is not a gymnasium environment.
        ValueError: an unsupported action or observation space, or an unknown hyper-parameter.
    """

    algo = "agent"
    defaults: dict = {}
    action_spaces = ("Discrete", "Box")

    def __init__(self, env, policy: str = "MlpPolicy", seed: int | None = None, **hyperparams):
        name = type(self).__name__
        if policy != "MlpPolicy":
            raise op_error(name, "policy='MlpPolicy'", repr(policy), cls=ValueError)
        allowed = {**COMMON, **self.defaults}
        unknown = sorted(set(hyperparams) - set(allowed))
        if unknown:
            raise op_error(name, f"hyper-parameters among {sorted(allowed)}",
                           f"unknown {unknown}", cls=ValueError)
        self.hp = {**allowed, **hyperparams}
        self.seed = None if seed is None else int(seed)
        self.env_id = env if isinstance(env, str) else None
        if self.seed is not None:
            B.manual_seed(self.seed)
        self.env = make_vec_env(env, self.hp["n_envs"], self.hp["vectorization"], op=name)
        self.n_envs = self.env.num_envs
        obs_space = self.env.single_observation_space
        if not isinstance(obs_space, gym().spaces.Box):
            raise op_error(name, "a Box observation space", f"{type(obs_space).__name__} "
                           f"{obs_space}", cls=ValueError)
        self.obs_shape = tuple(obs_space.shape)
        self.action_kind, self.action_spec = space_info(self.env.single_action_space, name,
                                                        self.action_spaces)
        self.obs_rms = RunningMeanStd(self.obs_shape) if self.hp["normalize_obs"] else None
        self.ret_rms = RunningMeanStd(()) if self.hp["normalize_reward"] else None
        self.history, self.logs = History(), History()
        self.num_timesteps, self._obs, self.stop_training = 0, None, False
        self.preset_timesteps = None
        self._build()

    # -- subclass hooks ------------------------------------------------------------------
    def _build(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(self, total_timesteps: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _act_numpy(self, obs, deterministic: bool):  # pragma: no cover - abstract
        """Policy actions for normalized observations ``(B, *obs_shape)``."""
        raise NotImplementedError

    @property
    def model(self):
        """The trained network (what callbacks see as ``self.model``)."""
        return self.policy

    # -- training ----------------------------------------------------------------------
    def learn(self, total_timesteps: int, callbacks=(), progress_bar: bool = False):
        """Train for ``total_timesteps`` environment transitions (continues a previous call).

        Args:
            total_timesteps (int): transitions to collect (rounded up to whole vector steps /
                rollouts).
            callbacks (list[lamina.train.Callback]): Keras-style hooks: ``on_train_begin``,
                ``on_epoch_end(update, logs)`` after every update (logs: ``timesteps``,
                ``mean_return``, losses), ``on_train_end``; ``self.trainer`` is this agent, so
                ``self.trainer.stop_training = True`` stops early.
            progress_bar (bool): add :class:`~lamina.rl.RLProgressBar`. Default False.

        Returns:
            Agent: self.
        """
        from .logging import RLProgressBar
        cbs = list(callbacks or ())
        if progress_bar:
            cbs.append(RLProgressBar())
        self.params = {"total_timesteps": self.num_timesteps + int(total_timesteps)}
        self._callbacks = CallbackList(cbs, trainer=self)
        self.stop_training, self._update = False, 0
        with self._threads():
            self._callbacks.on_train_begin({})
            if self._obs is None:
                self._reset()
            self._learn(int(total_timesteps))
            self._callbacks.on_train_end({})
        return self

    def _threads(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return contextlib.nullcontext()
        n = self.hp["n_threads"]
        return threadpool_limits(limits=int(n)) if n else contextlib.nullcontext()

    def _reset(self):
        seed = None if self.seed is None else [self.seed + i for i in range(self.n_envs)]
        obs, _ = self.env.reset(seed=seed)
        self._obs = np.asarray(obs, np.float32)
        self._ep_ret = np.zeros(self.n_envs, np.float64)
        self._ep_len = np.zeros(self.n_envs, np.int64)
        self._disc_ret = np.zeros(self.n_envs, np.float64)
        if self.obs_rms is not None:
            self.obs_rms.update(self._obs)

    def normalize_obs(self, obs):
        """Observations as the networks see them (running normalization if enabled)."""
        obs = np.asarray(obs, np.float32)
        return obs if self.obs_rms is None else self.obs_rms.normalize(obs)

    def _env_action(self, actions):
        """Map policy outputs to the environment's action space (Box: clip or tanh-squash)."""
        if self.action_kind == "discrete":
            return actions
        low, high, _ = self.action_spec
        if self.hp["action_mode"] == "squash":
            return low + 0.5 * (np.tanh(actions) + 1.0) * (high - low)
        return np.clip(actions, low, high)

    def _step(self, actions):
        """One vector step. Returns ``(next_obs, rewards, terminated, truncated, final_obs)``
        with normalized observations/rewards (``final_obs``: the true next observation of every
        row, for bootstrapping); records finished episodes in :attr:`history`."""
        obs, rew, term, trunc, infos = self.env.step(self._env_action(actions))
        obs = np.asarray(obs, np.float32)
        rew = np.asarray(rew, np.float64)
        term, trunc = np.asarray(term, bool), np.asarray(trunc, bool)
        done = term | trunc
        final = final_observations(obs, infos, done)
        self.num_timesteps += self.n_envs
        self._ep_ret += rew
        self._ep_len += 1
        for i in np.flatnonzero(done):
            self.history.append(len(self.history), {
                "episode_return": self._ep_ret[i], "episode_length": self._ep_len[i],
                "timesteps": self.num_timesteps})
            self._ep_ret[i], self._ep_len[i] = 0.0, 0
        if self.obs_rms is not None:
            self.obs_rms.update(obs)
        if self.ret_rms is not None:
            self._disc_ret = self._disc_ret * self.hp["gamma"] + rew
            self.ret_rms.update(self._disc_ret)
            rew = np.clip(rew / np.sqrt(self.ret_rms.var + 1e-8), -10.0, 10.0)
            self._disc_ret[done] = 0.0
        self._obs = obs
        return (self.normalize_obs(obs), rew.astype(np.float32), term, trunc,
                self.normalize_obs(final))

    def mean_return(self, last: int = 100) -> float:
        """Mean return of the last ``last`` training episodes (NaN before the first)."""
        r = self.history.history.get("episode_return", [])[-last:]
        return float(np.mean(r)) if r else math.nan

    def _end_update(self, logs: dict):
        logs = {"timesteps": self.num_timesteps, "mean_return": self.mean_return(), **logs}
        self.logs.append(self._update, logs)
        self._callbacks.on_epoch_end(self._update, logs)
        self._update += 1

    def _progress_remaining(self, start: int, total: int) -> float:
        return max(0.0, 1.0 - (self.num_timesteps - start) / max(total, 1))

    # -- acting ------------------------------------------------------------------------
    def predict(self, obs, deterministic: bool = True):
        """Action(s) for raw observation(s); normalization learned in training is applied.

        Args:
            obs (ndarray): one observation ``obs_shape`` or a batch ``(B, *obs_shape)``.
            deterministic (bool): greedy / mean action. Default True.

        Returns:
            ndarray: an action in the environment's space (one, or ``(B, ...)``).

        Raises:
            ShapeError: ``obs`` has the wrong shape.
        """
        obs = np.asarray(obs, np.float32)
        single = obs.shape == self.obs_shape
        if not single and obs.shape[1:] != self.obs_shape:
            raise op_error(f"{type(self).__name__}.predict", f"an observation of shape "
                           f"{self.obs_shape} or a batch (B, *{self.obs_shape})",
                           f"{obs.shape}")
        batch = obs[None] if single else obs
        act = self._env_action(self._act_numpy(self.normalize_obs(batch), deterministic))
        return act[0] if single else act

    def evaluate(self, n_episodes: int = 20, deterministic: bool = True, seed: int | None = None,
                 env=None):
        """Mean and standard deviation of ``n_episodes`` episode returns (raw rewards).

        Args:
            n_episodes (int): Default 20.
            deterministic (bool): Default True.
            seed (int, optional): first episode's reset seed (then +1 each). Default: the
                agent's seed + 10_000 (episodes differ from training ones).
            env (gymnasium.Env, optional): Default: a fresh ``gymnasium.make(env_id)``.

        Returns:
            tuple[float, float]: (mean, std).
        """
        ret = self.evaluate_episodes(n_episodes, deterministic, seed, env)
        return float(np.mean(ret)), float(np.std(ret))

    def evaluate_episodes(self, n_episodes=20, deterministic=True, seed=None, env=None):
        """The ``n_episodes`` returns themselves (a list of floats); see :meth:`evaluate`."""
        env = env if env is not None else self._single_env()
        base = (self.seed or 0) + 10_000 if seed is None else int(seed)
        out = []
        for k in range(int(n_episodes)):
            obs, _ = env.reset(seed=base + k)
            total, done = 0.0, False
            while not done:
                obs, r, term, trunc, _ = env.step(self.predict(obs, deterministic))
                total += float(r)
                done = term or trunc
            out.append(total)
        return out

    def _single_env(self, render_mode=None):
        if self.env_id is None:
            raise op_error(f"{type(self).__name__}.evaluate", "an env= argument (the agent was "
                           "built from an instance, not an id)", "none", cls=ValueError)
        return gym().make(self.env_id, render_mode=render_mode)

    # -- persistence -------------------------------------------------------------------
    def _state(self) -> dict:
        st = {"policy": self.policy.state_dict()}
        for name in ("obs_rms", "ret_rms"):
            if getattr(self, name) is not None:
                st[name] = getattr(self, name).state_dict()
        return st

    def save(self, path) -> None:
        """Write weights (safetensors) and algorithm, env id and hyper-parameters (JSON in the
        header) to ``path``, atomically. Never pickle.

        Raises:
            TypeError: a hyper-parameter that is not JSON (e.g. a lambda schedule).
        """
        from ..io import save
        try:
            meta = json.dumps({"algo": self.algo, "env_id": self.env_id, "seed": self.seed,
                               "hyperparams": self.hp, "num_timesteps": self.num_timesteps})
        except TypeError as e:
            raise op_error(f"{type(self).__name__}.save", "JSON hyper-parameters (numbers, "
                           "strings, lists)", str(e), "use 'lin_<x>' for schedules",
                           cls=TypeError) from None
        save(self._state(), os.fspath(path), metadata={"lamina.rl": meta})

    @classmethod
    def load(cls, path, env=None):
        """An agent rebuilt from :meth:`save` (``env`` defaults to the saved env id).

        Raises:
            ValueError: the file was not written by this algorithm's ``save``.
        """
        from ..io import load, read_metadata
        from . import ALGORITHMS
        raw = read_metadata(os.fspath(path)).get("lamina.rl")
        if raw is None:
            raise op_error(f"{cls.__name__}.load", "a file written by Agent.save",
                           repr(os.fspath(path)), cls=ValueError)
        meta = json.loads(raw)
        klass = ALGORITHMS[meta["algo"]] if cls is Agent else cls
        if klass.algo != meta["algo"]:
            raise op_error(f"{cls.__name__}.load", f"a {cls.algo} file", meta["algo"],
                           cls=ValueError)
        agent = klass(env if env is not None else meta["env_id"], seed=meta["seed"],
                      **meta["hyperparams"])
        state = load(os.fspath(path))
        agent.policy.load_state_dict(state["policy"])
        for name in ("obs_rms", "ret_rms"):
            if name in state and getattr(agent, name) is not None:
                getattr(agent, name).load_state_dict(state[name])
        agent.num_timesteps = int(meta["num_timesteps"])
        agent._after_load()
        return agent

    def _after_load(self):
        """Hook: e.g. DQN copies the loaded weights into its target network."""

    @classmethod
    def from_preset(cls, env_id: str, seed: int | None = None, **overrides):
        """A ready agent with the RL Zoo's hyper-parameters for ``env_id`` (see
        :mod:`lamina.rl.presets`); ``agent.preset_timesteps`` is the Zoo's training budget.

        Raises:
            ValueError: no preset for this algorithm and environment (the message lists them).
        """
        from .presets import get_preset
        hp, steps = get_preset(cls.algo, env_id)
        agent = cls(env_id, seed=seed, **{**hp, **overrides})
        agent.preset_timesteps = steps
        return agent

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(env={self.env_id!r}, n_envs={self.n_envs}, "
                f"timesteps={self.num_timesteps})")

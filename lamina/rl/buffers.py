"""Preallocated buffers: a circular replay buffer, an n-step accumulator, a rollout buffer.

All storage is host NumPy allocated once; adding a step is a few slice assignments and
sampling is one fancy index, so no per-transition Python objects are kept.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from .returns import compute_gae

np = B.np

__all__ = ["ReplayBuffer", "NStepAccumulator", "RolloutBuffer"]


class ReplayBuffer:
    """Uniform experience replay over the last ``capacity`` transitions.

    Each transition is ``(obs, action, reward, next_obs, terminated, discount)``; ``discount``
    is ``gamma ** k`` for a k-step transition (see :class:`NStepAccumulator`), so the TD target
    is ``reward + discount * (1 - terminated) * max_a Q(next_obs, a)``.

    Args:
        capacity (int): transitions kept (oldest overwritten first).
        obs_shape (tuple): shape of one observation.
        action_shape (tuple): ``()`` for discrete actions. Default ``()``.
        action_dtype: Default int64.

    Example:
        >>> buf = ReplayBuffer(10_000, (4,))
        >>> buf.add(obs, act, rew, next_obs, term, disc)       # batches (n, ...)
        >>> batch = buf.sample(64)                                # dict of arrays
    """

    def __init__(self, capacity: int, obs_shape, action_shape=(), action_dtype="int64"):
        check(int(capacity) > 0, "ReplayBuffer", "capacity > 0", f"capacity={capacity}",
              cls=ValueError)
        self.capacity, self.pos, self.size = int(capacity), 0, 0
        c = self.capacity
        self.obs = np.zeros((c, *obs_shape), np.float32)
        self.next_obs = np.zeros((c, *obs_shape), np.float32)
        self.actions = np.zeros((c, *action_shape), action_dtype)
        self.rewards = np.zeros(c, np.float32)
        self.terminated = np.zeros(c, np.float32)
        self.discounts = np.zeros(c, np.float32)

    def add(self, obs, actions, rewards, next_obs, terminated, discounts) -> None:
        """Append a batch of ``n`` transitions (first axis), wrapping around at capacity."""
        n = len(rewards)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.next_obs[idx] = obs, next_obs
        self.actions[idx], self.rewards[idx] = actions, rewards
        self.terminated[idx], self.discounts[idx] = terminated, discounts
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int) -> dict:
        """``batch_size`` transitions drawn uniformly with replacement from the written slots.

        Returns:
            dict: ``obs``, ``actions``, ``rewards``, ``next_obs``, ``terminated``,
            ``discounts``, each ``(batch_size, ...)``.

        Raises:
            ValueError: the buffer is empty.
        """
        check(self.size > 0, "ReplayBuffer.sample", "at least one stored transition",
              "an empty buffer", cls=ValueError)
        idx = B.rng().integers(0, self.size, size=int(batch_size))
        return {"obs": self.obs[idx], "actions": self.actions[idx],
                "rewards": self.rewards[idx], "next_obs": self.next_obs[idx],
                "terminated": self.terminated[idx], "discounts": self.discounts[idx]}


class NStepAccumulator:
    """Turns 1-step transitions of ``n_envs`` environments into n-step ones.

    The reward becomes ``sum_{k<m} gamma^k r_{t+k}`` and ``discount = gamma^m``, where
    ``m <= n`` stops early at the end of an episode (termination or truncation); at a
    truncation the transition keeps ``terminated=False`` so it is bootstrapped.

    Args:
        n (int): steps (1 passes transitions through unchanged).
        gamma (float): discount.
        n_envs (int): environments stepped together.
    """

    def __init__(self, n: int, gamma: float, n_envs: int):
        check(int(n) >= 1, "NStepAccumulator", "n >= 1", f"n={n}", cls=ValueError)
        self.n, self.gamma, self.n_envs = int(n), float(gamma), int(n_envs)
        self.queues = [[] for _ in range(self.n_envs)]

    def push(self, obs, actions, rewards, next_obs, terminated, truncated):
        """Add one vector step; returns the finished transitions as a tuple of arrays
        ``(obs, actions, rewards, next_obs, terminated, discounts)`` (possibly empty)."""
        out = []
        for i in range(self.n_envs):
            q = self.queues[i]
            q.append((obs[i], actions[i], float(rewards[i]), next_obs[i], bool(terminated[i])))
            done = bool(terminated[i]) or bool(truncated[i])
            while q and (len(q) >= self.n or done):
                out.append(self._fold(q))
                q.pop(0)
        if not out:
            return None
        cols = list(zip(*out))
        return (np.stack(cols[0]), np.asarray(cols[1]), np.asarray(cols[2], np.float32),
                np.stack(cols[3]), np.asarray(cols[4], np.float32),
                np.asarray(cols[5], np.float32))

    def _fold(self, q):
        ret, disc = 0.0, 1.0
        for (_, _, r, nxt, term) in q[: self.n]:
            ret += disc * r
            disc *= self.gamma
            if term:
                break
        return q[0][0], q[0][1], ret, nxt, term, disc


class RolloutBuffer:
    """``n_steps`` vector steps of on-policy data, time-major ``(T, n_envs, ...)``.

    Args:
        n_steps (int): steps per environment per rollout.
        n_envs (int): environments.
        obs_shape (tuple): one observation's shape.
        action_shape (tuple): ``()`` for discrete actions.
        action_dtype: Default int64.
    """

    def __init__(self, n_steps, n_envs, obs_shape, action_shape=(), action_dtype="int64"):
        T, N = int(n_steps), int(n_envs)
        self.n_steps, self.n_envs, self.t = T, N, 0
        self.obs = np.zeros((T, N, *obs_shape), np.float32)
        self.actions = np.zeros((T, N, *action_shape), action_dtype)
        for name in ("log_probs", "values", "rewards", "next_values", "advantages", "returns"):
            setattr(self, name, np.zeros((T, N), np.float32))
        self.terminated = np.zeros((T, N), bool)
        self.truncated = np.zeros((T, N), bool)

    def add(self, obs, actions, log_probs, values, rewards, terminated, truncated):
        """Store step ``t`` and advance."""
        t = self.t
        self.obs[t], self.actions[t], self.log_probs[t] = obs, actions, log_probs
        self.values[t], self.rewards[t] = values, rewards
        self.terminated[t], self.truncated[t] = terminated, truncated
        self.t += 1

    def full(self) -> bool:
        return self.t >= self.n_steps

    def finish(self, last_values, final_values=None, gamma=0.99, gae_lambda=0.95):
        """Fill ``next_values`` and compute advantages/returns with :func:`compute_gae`.

        Args:
            last_values (ndarray): ``(N,)`` ``V`` of the observation after the last step.
            final_values (dict[(t, i), float], optional): ``V`` of the final observation of
                sub-environment ``i`` truncated at step ``t``.
        """
        self.next_values[:-1] = self.values[1:]
        self.next_values[-1] = last_values
        for (t, i), v in (final_values or {}).items():
            self.next_values[t, i] = v
        self.advantages, self.returns = compute_gae(
            self.rewards, self.values, self.next_values, self.terminated, self.truncated,
            gamma, gae_lambda)
        self.t = 0

    def minibatches(self, batch_size: int):
        """Shuffled minibatches over all ``T * N`` samples: dicts of flat arrays."""
        n = self.n_steps * self.n_envs
        flat = {"obs": self.obs.reshape(n, *self.obs.shape[2:]),
                "actions": self.actions.reshape(n, *self.actions.shape[2:]),
                "log_probs": self.log_probs.reshape(n), "values": self.values.reshape(n),
                "advantages": self.advantages.reshape(n), "returns": self.returns.reshape(n)}
        perm = B.rng().permutation(n)
        for s in range(0, n, int(batch_size)):
            idx = perm[s:s + int(batch_size)]
            yield {k: v[idx] for k, v in flat.items()}

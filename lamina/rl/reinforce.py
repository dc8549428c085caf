"""``REINFORCE``: Monte-Carlo policy gradient with reward-to-go and a learned baseline
(Williams 1992; Sutton & Barto ch. 13.4).

Whole episodes are played with the current policy on ``n_envs`` environments. For each step
the reward-to-go ``G_t = sum_k gamma^k r_{t+k}`` is computed (an episode cut by a time limit
adds ``gamma^k V(s_final)``: truncation is bootstrapped, not treated as the end of the task),
and after ``episodes_per_update`` episodes one gradient step minimizes
``-mean((G_t - V(s_t)) log pi(a_t|s_t)) + vf_coef * mean((G_t - V(s_t))^2)``
(:func:`lamina.rl.losses.actor_critic_step`, shared with A2C).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..optim import Adam
from .base import Agent
from .losses import actor_critic_step
from .policies import ActorCritic
from .returns import reward_to_go
from .schedules import parse_schedule

np = B.np

__all__ = ["REINFORCE"]


class REINFORCE(Agent):
    """Policy gradient with a learned state-value baseline, for ``Discrete`` and ``Box``.

    Args:
        **hyperparams: the common ones of :class:`~lamina.rl.Agent` (``learning_rate`` 1e-3
            here).
        episodes_per_update (int): finished episodes per gradient step. Default 8.
        vf_coef (float): baseline loss weight. Default 0.5.
        ent_coef (float): entropy bonus. Default 0.0.
        normalize_advantage (bool): standardize ``G - V`` per update. Default True.
        max_grad_norm (float): Default 0.5.
        ortho_init (bool): orthogonal init, as :class:`~lamina.rl.PPO`. Default True.
        log_std_init (float): Gaussian policies' initial log-std. Default 0.0.

    Example:
        >>> agent = REINFORCE.from_preset("CartPole-v1", seed=0).learn(300_000)
    """

    algo = "reinforce"
    defaults = {"learning_rate": 1e-3, "episodes_per_update": 8, "vf_coef": 0.5,
                "ent_coef": 0.0, "normalize_advantage": True, "max_grad_norm": 0.5,
                "ortho_init": True, "log_std_init": 0.0}

    def _build(self):
        hp = self.hp
        self.policy = ActorCritic(int(np.prod(self.obs_shape)),
                                  (self.action_kind, self.action_spec), hp["net_arch"],
                                  hp["activation"], hp["ortho_init"], hp["log_std_init"])
        self.lr_schedule = parse_schedule(hp["learning_rate"], "learning_rate")
        self.optimizer = Adam(self.policy.parameters(), lr=self.lr_schedule(1.0))

    def _act_numpy(self, obs, deterministic):
        return self.policy.act_numpy(obs.reshape(len(obs), -1), deterministic)[0]

    def _learn(self, total_timesteps):
        hp, start = self.hp, self.num_timesteps
        obs = self.normalize_obs(self._obs)
        running = [([], [], []) for _ in range(self.n_envs)]   # obs, actions, rewards
        finished = []                                          # (obs, actions, returns)
        while self.num_timesteps - start < total_timesteps and not self.stop_training:
            a, _, _ = self.policy.act_numpy(obs.reshape(self.n_envs, -1))
            nxt, rew, term, trunc, final = self._step(a)
            for i in range(self.n_envs):
                ep = running[i]
                ep[0].append(obs[i].reshape(-1))
                ep[1].append(a[i])
                ep[2].append(rew[i])
                if term[i] or trunc[i]:
                    boot = 0.0 if term[i] else float(
                        self.policy.value_numpy(final[i].reshape(1, -1))[0])
                    finished.append(self._episode(ep, bool(term[i]), boot))
                    running[i] = ([], [], [])
            obs = nxt
            if len(finished) >= hp["episodes_per_update"]:
                progress = self._progress_remaining(start, total_timesteps)
                for g in self.optimizer.param_groups:
                    g["lr"] = self.lr_schedule(progress)
                self._end_update(self.update(finished))
                finished = []

    def _episode(self, ep, terminated: bool, bootstrap: float):
        r = np.asarray(ep[2], np.float32)
        term = np.zeros(len(r), bool)
        trunc = np.zeros(len(r), bool)
        term[-1], trunc[-1] = terminated, not terminated
        boot = np.zeros(len(r), np.float32)
        boot[-1] = bootstrap
        g = reward_to_go(r, term, trunc, self.hp["gamma"], boot)
        return np.stack(ep[0]), np.asarray(ep[1]), g

    def update(self, episodes) -> dict:
        """One gradient step on whole episodes ``[(obs, actions, returns), ...]``."""
        hp = self.hp
        obs = Tensor(np.concatenate([e[0] for e in episodes]).astype(np.float32))
        acts = np.concatenate([e[1] for e in episodes])
        acts = acts if self.action_kind == "discrete" else Tensor(acts.astype(np.float32))
        ret = np.concatenate([e[2] for e in episodes])
        return actor_critic_step(self.policy, self.optimizer, obs, acts, ret, None,
                                 hp["vf_coef"], hp["ent_coef"], hp["normalize_advantage"],
                                 hp["max_grad_norm"])

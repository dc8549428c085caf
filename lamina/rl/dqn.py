"""``DQN``: deep Q-learning with experience replay and a target network (Mnih et al. 2015).

The loop, as in SB3 and CleanRL's ``dqn.py``:

1. act epsilon-greedily (epsilon decays linearly over ``exploration_fraction`` of training;
   uniform random actions before ``learning_starts``), the greedy action from a NumPy forward;
2. store ``(s, a, r, s', terminated)`` in the replay buffer, where ``s'`` is the observation
   the episode really reached (a time-limit truncation is *not* terminal: it is bootstrapped);
   with ``n_step > 1`` rewards are summed over n steps first;
3. every ``train_freq`` steps, ``gradient_steps`` updates on uniform minibatches of the Huber
   (or squared) TD error against ``r + gamma^n (1 - term) Q_target(s', argmax)``: the target
   network's max, or with ``double_q`` the online network's argmax evaluated by the target;
4. every ``target_update_interval`` steps, ``target <- tau * online + (1 - tau) * target``
   (``tau = 1``: a hard copy).
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd import Tensor
from ..errors import op_error
from ..optim import Adam, clip_grad_norm_
from .base import Agent
from .buffers import NStepAccumulator, ReplayBuffer
from .policies import QNetwork, flat, sync_params
from .schedules import linear_epsilon, parse_schedule

np = B.np

__all__ = ["DQN"]


class DQN(Agent):
    """Deep Q-network for ``Discrete`` action spaces.

    Args:
        **hyperparams: the common ones of :class:`~lamina.rl.Agent` (``net_arch`` [64, 64],
            ``activation`` "relu", ``learning_rate`` 1e-4 here, as SB3).
        buffer_size (int): replay capacity. Default 1_000_000.
        learning_starts (int): random steps before learning. Default 100.
        batch_size (int): Default 32.
        tau (float): target update coefficient (1: hard copy). Default 1.0.
        train_freq (int): env steps between training phases. Default 4.
        gradient_steps (int): updates per phase (-1: as many as steps collected). Default 1.
        target_update_interval (int): env steps between target updates. Default 10_000.
        exploration_fraction (float): fraction of training over which epsilon decays.
            Default 0.1.
        exploration_initial_eps (float): Default 1.0.
        exploration_final_eps (float): Default 0.05.
        max_grad_norm (float): Default 10.
        double_q (bool): double DQN targets (van Hasselt et al. 2016). Default False.
        dueling (bool): dueling head. Default False.
        n_step (int): n-step returns. Default 1.
        loss (str): ``"huber"`` or ``"mse"``. Default ``"huber"``.

    Example:
        >>> agent = DQN.from_preset("CartPole-v1", seed=0)
        >>> agent.learn(agent.preset_timesteps).evaluate(20)
    """

    algo = "dqn"
    action_spaces = ("Discrete",)
    defaults = {"learning_rate": 1e-4, "net_arch": [64, 64], "activation": "relu",
                "buffer_size": 1_000_000, "learning_starts": 100, "batch_size": 32,
                "tau": 1.0, "train_freq": 4, "gradient_steps": 1,
                "target_update_interval": 10_000, "exploration_fraction": 0.1,
                "exploration_initial_eps": 1.0, "exploration_final_eps": 0.05,
                "max_grad_norm": 10.0, "double_q": False, "dueling": False, "n_step": 1,
                "loss": "huber"}

    def _build(self):
        hp = self.hp
        if hp["loss"] not in ("huber", "mse"):
            raise op_error("DQN", "loss in ('huber', 'mse')", repr(hp["loss"]),
                           cls=ValueError)
        obs_dim = int(np.prod(self.obs_shape))
        self.policy = QNetwork(obs_dim, self.action_spec, hp["net_arch"], hp["dueling"],
                               hp["activation"])
        self.target = copy.deepcopy(self.policy)
        self.lr_schedule = parse_schedule(hp["learning_rate"], "learning_rate")
        self.optimizer = Adam(self.policy.parameters(), lr=self.lr_schedule(1.0))
        self.buffer = ReplayBuffer(hp["buffer_size"], self.obs_shape)
        self.nstep = NStepAccumulator(hp["n_step"], hp["gamma"], self.n_envs)
        self.exploration_rate = hp["exploration_initial_eps"]

    def _after_load(self):
        sync_params(self.target, self.policy)

    def _act_numpy(self, obs, deterministic):
        q = self.policy.q_numpy(obs.reshape(len(obs), -1))
        greedy = q.argmax(axis=-1)
        if deterministic:
            return greedy
        rnd = B.rng().random(len(obs)) < self.exploration_rate
        return np.where(rnd, B.rng().integers(0, self.action_spec, len(obs)), greedy)

    # -- the loop ----------------------------------------------------------------------
    def _learn(self, total_timesteps):
        hp, start = self.hp, self.num_timesteps
        eps = linear_epsilon(hp["exploration_initial_eps"], hp["exploration_final_eps"],
                             hp["exploration_fraction"])
        target_every = max(int(hp["target_update_interval"]) // self.n_envs, 1)
        train_every = max(int(hp["train_freq"]) // self.n_envs, 1)
        obs, calls, since_train = self.normalize_obs(self._obs), 0, 0
        while self.num_timesteps - start < total_timesteps and not self.stop_training:
            progress = self._progress_remaining(start, total_timesteps)
            self.exploration_rate = eps(1.0 - progress)
            if self.num_timesteps < hp["learning_starts"]:
                actions = B.rng().integers(0, self.action_spec, self.n_envs)
            else:
                actions = self._act_numpy(obs, deterministic=False)
            nxt, rew, term, trunc, final = self._step(actions)
            self._store(obs, actions, rew, final, term, trunc)
            obs, calls, since_train = nxt, calls + 1, since_train + self.n_envs
            if calls % target_every == 0:
                sync_params(self.target, self.policy, hp["tau"])
            if calls % train_every == 0 and self.num_timesteps > hp["learning_starts"]:
                n = hp["gradient_steps"] if hp["gradient_steps"] >= 0 else since_train
                for g in self.optimizer.param_groups:
                    g["lr"] = self.lr_schedule(progress)
                logs = self.train_steps(int(n))
                since_train = 0
                self._end_update({**logs, "exploration_rate": self.exploration_rate})

    def _store(self, obs, actions, rewards, next_obs, terminated, truncated):
        if self.hp["n_step"] == 1:
            disc = np.full(self.n_envs, self.hp["gamma"], np.float32)
            self.buffer.add(flat(obs), actions, rewards, flat(next_obs), terminated, disc)
            return
        out = self.nstep.push(flat(obs), actions, rewards, flat(next_obs), terminated,
                              truncated)
        if out is not None:
            self.buffer.add(*out)

    def td_targets(self, batch):
        """``r + discount * (1 - terminated) * Q_target(s', a*)`` as a float32 array."""
        q_next = self.target.q_numpy(batch["next_obs"])
        if self.hp["double_q"]:
            best = self.policy.q_numpy(batch["next_obs"]).argmax(axis=-1)
            q_next = q_next[np.arange(len(best)), best]
        else:
            q_next = q_next.max(axis=-1)
        return (batch["rewards"] + batch["discounts"] * (1.0 - batch["terminated"])
                * q_next).astype(np.float32)

    def train_steps(self, n: int) -> dict:
        """``n`` gradient steps on replayed minibatches; returns the mean loss and Q."""
        hp, total_loss, total_q = self.hp, 0.0, 0.0
        for _ in range(n):
            batch = self.buffer.sample(hp["batch_size"])
            target = Tensor(self.td_targets(batch))
            q = self.policy(Tensor(batch["obs"]))[np.arange(len(target)), batch["actions"]]
            if hp["loss"] == "huber":
                loss = F.smooth_l1_loss(q, target)
            else:
                loss = F.mse_loss(q, target)
            self.optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(self.policy.parameters(), hp["max_grad_norm"])
            self.optimizer.step()
            total_loss += loss.item()
            total_q += float(q.array.mean())
        return {"loss": total_loss / max(n, 1), "q_mean": total_q / max(n, 1)}

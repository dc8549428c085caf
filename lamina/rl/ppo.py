"""``PPO``: proximal policy optimization with a clipped surrogate (Schulman et al. 2017).

One iteration, as CleanRL's ``ppo.py`` reads:

1. collect ``n_steps`` steps of ``n_envs`` environments with the current policy (actions drawn
   by a NumPy forward, no graph);
2. GAE(lambda) advantages, bootstrapping truncated episodes from their final observation;
3. ``n_epochs`` passes of shuffled minibatches minimizing
   ``-min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) + vf_coef * L_V - ent_coef * H``,
   with advantage normalization, optional value clipping, gradient-norm clipping, a linearly
   annealed learning rate / clip range (``"lin_<x>"``) and an optional KL early stop.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd import Tensor
from ..optim import Adam, clip_grad_norm_
from .base import Agent
from .buffers import RolloutBuffer
from .policies import ActorCritic, flat
from .schedules import parse_schedule

np = B.np

__all__ = ["PPO", "ppo_clip_loss"]


def ppo_clip_loss(log_prob, old_log_prob, advantages, clip_range: float):
    """The clipped surrogate loss ``-mean(min(r A, clip(r, 1-eps, 1+eps) A))``,
    ``r = exp(log_prob - old_log_prob)``.

    Args:
        log_prob (Tensor): ``(B,)`` log-probabilities under the current policy.
        old_log_prob (ndarray): ``(B,)`` under the policy that collected the data.
        advantages (ndarray): ``(B,)``.
        clip_range (float): ``eps``.

    Returns:
        Tensor: scalar loss (to minimize).
    """
    ratio = (log_prob - Tensor(np.asarray(old_log_prob, log_prob.dtype))).exp()
    adv = Tensor(np.asarray(advantages, log_prob.dtype))
    return -F.minimum(ratio * adv, ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * adv).mean()


class PPO(Agent):
    """Proximal policy optimization for ``Discrete`` and ``Box`` action spaces.

    Args:
        **hyperparams: the common ones of :class:`~lamina.rl.Agent`.
        n_steps (int): steps per environment per rollout. Default 2048.
        batch_size (int): minibatch size. Default 64.
        n_epochs (int): passes over each rollout. Default 10.
        gae_lambda (float): Default 0.95.
        clip_range (float | str): ``eps``, or ``"lin_<eps>"`` annealed to 0. Default 0.2.
        clip_range_vf (float, optional): clip value updates to this range. Default None.
        normalize_advantage (bool): per minibatch. Default True.
        ent_coef (float): entropy bonus. Default 0.0.
        vf_coef (float): value-loss weight. Default 0.5.
        max_grad_norm (float): gradient-norm clip. Default 0.5.
        target_kl (float, optional): stop the epochs when the approximate KL exceeds
            ``1.5 * target_kl``. Default None.
        ortho_init (bool): orthogonal initialization. Default True.
        log_std_init (float): Gaussian policies' initial log-std. Default 0.0.

    Defaults are SB3's (``learning_rate`` 3e-4, Adam with eps 1e-5, tanh ``[64, 64]`` MLPs).

    Example:
        >>> agent = PPO.from_preset("CartPole-v1", seed=0).learn(100_000)
        >>> agent.evaluate(20)
    """

    algo = "ppo"
    defaults = {"n_steps": 2048, "batch_size": 64, "n_epochs": 10, "gae_lambda": 0.95,
                "clip_range": 0.2, "clip_range_vf": None, "normalize_advantage": True,
                "ent_coef": 0.0, "vf_coef": 0.5, "max_grad_norm": 0.5, "target_kl": None,
                "ortho_init": True, "log_std_init": 0.0}

    def _build(self):
        hp = self.hp
        obs_dim = int(np.prod(self.obs_shape))
        self.policy = ActorCritic(obs_dim, (self.action_kind, self.action_spec),
                                  hp["net_arch"], hp["activation"], hp["ortho_init"],
                                  hp["log_std_init"])
        self.lr_schedule = parse_schedule(hp["learning_rate"], "learning_rate")
        self.optimizer = self._make_optimizer()
        if self.action_kind == "discrete":
            act_shape, act_dtype = (), "int64"
        else:
            act_shape, act_dtype = self.action_spec[2], "float32"
        self.rollout = RolloutBuffer(hp["n_steps"], self.n_envs, self.obs_shape, act_shape,
                                     act_dtype)

    def _make_optimizer(self):
        return Adam(self.policy.parameters(), lr=self.lr_schedule(1.0), eps=1e-5)

    def _act_numpy(self, obs, deterministic):
        return self.policy.act_numpy(obs.reshape(len(obs), -1), deterministic)[0]

    # -- the loop ----------------------------------------------------------------------
    def _learn(self, total_timesteps):
        start = self.num_timesteps
        obs = self.normalize_obs(self._obs)
        while self.num_timesteps - start < total_timesteps and not self.stop_training:
            progress = self._progress_remaining(start, total_timesteps)
            for g in self.optimizer.param_groups:
                g["lr"] = self.lr_schedule(progress)
            obs = self.collect_rollout(obs)
            logs = self.train_on_rollout(progress)
            self._end_update({**logs, "lr": self.optimizer.param_groups[0]["lr"]})

    def collect_rollout(self, obs):
        """Fill :attr:`rollout` from ``obs`` (normalized); returns the next observations."""
        buf = self.rollout
        finals = {}
        for t in range(buf.n_steps):
            a, lp, v = self.policy.act_numpy(flat(obs))
            nxt, r, term, trunc, final = self._step(a)
            cut = np.flatnonzero(trunc & ~term)
            if len(cut):  # time limit: bootstrap from the state actually reached
                for i, fv in zip(cut, self.policy.value_numpy(flat(final[cut]))):
                    finals[(t, int(i))] = float(fv)
            buf.add(obs, a, lp, v, r, term, trunc)
            obs = nxt
        buf.finish(self.policy.value_numpy(flat(obs)), finals, self.hp["gamma"],
                   self.hp["gae_lambda"])
        return obs

    def train_on_rollout(self, progress: float) -> dict:
        """``n_epochs`` of minibatch updates on the filled rollout; returns mean losses."""
        hp = self.hp
        clip = parse_schedule(hp["clip_range"], "clip_range")(progress)
        sums, n, stop = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0,
                         "approx_kl": 0.0, "clip_fraction": 0.0}, 0, False
        for _ in range(hp["n_epochs"]):
            for mb in self.rollout.minibatches(hp["batch_size"]):
                obs = Tensor(mb["obs"].reshape(len(mb["obs"]), -1))
                acts = mb["actions"] if self.action_kind == "discrete" else Tensor(mb["actions"])
                log_prob, entropy, values = self.policy.evaluate(obs, acts)
                adv = mb["advantages"]
                if hp["normalize_advantage"] and len(adv) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                log_ratio = log_prob.array - mb["log_probs"]
                approx_kl = float(np.mean(np.expm1(log_ratio) - log_ratio))
                if hp["target_kl"] is not None and approx_kl > 1.5 * hp["target_kl"]:
                    stop = True
                    break
                policy_loss = ppo_clip_loss(log_prob, mb["log_probs"], adv, clip)
                value_loss = self._value_loss(values, mb["values"], mb["returns"])
                loss = (policy_loss + hp["vf_coef"] * value_loss
                        - hp["ent_coef"] * entropy.mean())
                self.optimizer.zero_grad()
                loss.backward()
                clip_grad_norm_(self.policy.parameters(), hp["max_grad_norm"])
                self.optimizer.step()
                for k, v in (("policy_loss", policy_loss.item()), ("entropy", entropy.array.mean()),
                             ("value_loss", value_loss.item()), ("approx_kl", approx_kl),
                             ("clip_fraction", np.mean(np.abs(np.expm1(log_ratio)) > clip))):
                    sums[k] += float(v)
                n += 1
            if stop:
                break
        return {k: v / max(n, 1) for k, v in sums.items()}

    def _value_loss(self, values, old_values, returns):
        ret = Tensor(returns)
        if self.hp["clip_range_vf"] is None:
            return ((values - ret) ** 2).mean()
        c = float(self.hp["clip_range_vf"])
        old = Tensor(old_values)
        clipped = old + (values - old).clamp(-c, c)
        return F.maximum((values - ret) ** 2, (clipped - ret) ** 2).mean()

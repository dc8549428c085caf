"""``A2C``: synchronous advantage actor-critic (Mnih et al. 2016), as SB3's ``A2C``.

Each iteration collects ``n_steps`` (5) steps of every vector environment with the rollout
code it shares with :class:`~lamina.rl.PPO`, computes n-step advantages (GAE with
``gae_lambda = 1``; truncations bootstrapped), and takes *one* gradient step on the whole batch:
``-mean(A * log pi(a|s)) + vf_coef * mean((R - V)^2) - ent_coef * H`` with RMSprop.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..optim import RMSprop, clip_grad_norm_
from .ppo import PPO

np = B.np

__all__ = ["A2C"]


class A2C(PPO):
    """Advantage actor-critic for ``Discrete`` and ``Box`` action spaces.

    Args:
        **hyperparams: the common ones of :class:`~lamina.rl.Agent` (``learning_rate``
            7e-4 here).
        n_steps (int): steps per environment per update. Default 5.
        gae_lambda (float): 1.0 gives plain n-step returns. Default 1.0.
        ent_coef (float): entropy bonus. Default 0.0.
        vf_coef (float): Default 0.5.
        max_grad_norm (float): Default 0.5.
        normalize_advantage (bool): Default False.
        rms_prop_eps (float): RMSprop epsilon (alpha 0.99). Default 1e-5.
        ortho_init (bool), log_std_init (float): as :class:`~lamina.rl.PPO`.

    Example:
        >>> agent = A2C("CartPole-v1", n_envs=8, seed=0).learn(500_000)
    """

    algo = "a2c"
    defaults = {"learning_rate": 7e-4, "n_steps": 5, "gae_lambda": 1.0, "ent_coef": 0.0,
                "vf_coef": 0.5, "max_grad_norm": 0.5, "normalize_advantage": False,
                "rms_prop_eps": 1e-5, "ortho_init": True, "log_std_init": 0.0}

    def _make_optimizer(self):
        return RMSprop(self.policy.parameters(), lr=self.lr_schedule(1.0), alpha=0.99,
                       eps=self.hp["rms_prop_eps"])

    def train_on_rollout(self, progress: float) -> dict:
        """One gradient step on the whole rollout; returns the losses."""
        hp, buf = self.hp, self.rollout
        n = buf.n_steps * buf.n_envs
        obs = Tensor(buf.obs.reshape(n, -1))
        acts = buf.actions.reshape(n, *buf.actions.shape[2:])
        acts = acts if self.action_kind == "discrete" else Tensor(acts)
        log_prob, entropy, values = self.policy.evaluate(obs, acts)
        adv = buf.advantages.reshape(n)
        if hp["normalize_advantage"]:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy_loss = -(log_prob * Tensor(adv.astype(np.float32))).mean()
        value_loss = ((values - Tensor(buf.returns.reshape(n))) ** 2).mean()
        loss = policy_loss + hp["vf_coef"] * value_loss - hp["ent_coef"] * entropy.mean()
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(self.policy.parameters(), hp["max_grad_norm"])
        self.optimizer.step()
        return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                "entropy": float(entropy.array.mean())}

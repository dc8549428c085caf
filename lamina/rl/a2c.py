"""``A2C``: synchronous advantage actor-critic (Mnih et al. 2016), as SB3's ``A2C``.

Each iteration collects ``n_steps`` (5) steps of every vector environment with the rollout
code it shares with :class:`~lamina.rl.PPO`, computes n-step advantages (GAE with
``gae_lambda = 1``; truncations bootstrapped), and takes *one* RMSprop step on the whole batch:
``-mean(A * log pi(a|s)) + vf_coef * mean((R - V)^2) - ent_coef * H``
(:func:`lamina.rl.losses.actor_critic_step`, shared with REINFORCE).
"""

from __future__ import annotations

from ..autograd import Tensor
from ..optim import RMSprop
from .losses import actor_critic_step
from .ppo import PPO

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
        ortho_init (bool): orthogonal init, as :class:`~lamina.rl.PPO`. Default True.
        log_std_init (float): Gaussian policies' initial log-std. Default 0.0.

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
        return actor_critic_step(self.policy, self.optimizer, obs, acts,
                                 buf.returns.reshape(n), buf.advantages.reshape(n),
                                 hp["vf_coef"], hp["ent_coef"], hp["normalize_advantage"],
                                 hp["max_grad_norm"])

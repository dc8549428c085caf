"""The vanilla actor-critic policy-gradient step that :class:`~lamina.rl.A2C` and
:class:`~lamina.rl.REINFORCE` share (PPO's clipped surrogate is in ``ppo.py``).

``loss = -mean(A * log pi(a|s)) + vf_coef * mean((R - V(s))^2) - ent_coef * mean(H(pi(.|s)))``

The two algorithms differ only in where ``A`` comes from: A2C passes the n-step advantages of
its rollout; REINFORCE passes none and gets ``A = R - V(s)``, the Monte-Carlo return minus the
learned baseline (``V`` treated as a constant in the policy term, so the baseline only lowers
the variance of the gradient and does not bias it).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..optim import clip_grad_norm_

np = B.np

__all__ = ["actor_critic_loss", "actor_critic_step"]


def actor_critic_loss(policy, obs, actions, returns, advantages=None, vf_coef: float = 0.5,
                      ent_coef: float = 0.0, normalize_advantage: bool = False):
    """The actor-critic loss and its parts, with a graph for ``backward``.

    Args:
        policy (ActorCritic): gives ``evaluate(obs, actions) -> (log_prob, entropy, value)``.
        obs (Tensor): ``(B, obs_dim)`` observations.
        actions (ndarray | Tensor): ``(B,)`` discrete actions or a ``(B, d)`` Tensor.
        returns (ndarray): ``(B,)`` value targets ``R``.
        advantages (ndarray, optional): ``(B,)`` advantages; None uses ``R - V(s)``.
            Default None.
        vf_coef (float): weight of the value loss. Default 0.5.
        ent_coef (float): weight of the entropy bonus. Default 0.0.
        normalize_advantage (bool): standardize ``A`` over the batch (when it has more than
            one sample). Default False.

    Returns:
        tuple: ``(loss, policy_loss, value_loss, entropy)``: three scalar Tensors and the
        ``(B,)`` entropy Tensor.

    Shape:
        ``obs`` ``(B, obs_dim)``; ``returns`` and ``advantages`` ``(B,)``.
    """
    log_prob, entropy, values = policy.evaluate(obs, actions)
    ret = np.asarray(returns, np.float32)
    adv = ret - values.array if advantages is None else np.asarray(advantages, np.float32)
    if normalize_advantage and len(adv) > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    policy_loss = -(log_prob * Tensor(adv.astype(np.float32))).mean()
    value_loss = ((values - Tensor(ret)) ** 2).mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy.mean()
    return loss, policy_loss, value_loss, entropy


def actor_critic_step(policy, optimizer, obs, actions, returns, advantages=None,
                      vf_coef: float = 0.5, ent_coef: float = 0.0,
                      normalize_advantage: bool = False, max_grad_norm: float = 0.5) -> dict:
    """One optimizer step on :func:`actor_critic_loss`, gradients clipped by global norm.

    Args:
        policy (ActorCritic): the network being trained.
        optimizer (lamina.optim.Optimizer): over ``policy.parameters()``.
        obs (Tensor): ``(B, obs_dim)``.
        actions (ndarray | Tensor): ``(B,)`` or ``(B, d)``.
        returns (ndarray): ``(B,)``.
        advantages (ndarray, optional): ``(B,)``; None: ``R - V(s)``. Default None.
        vf_coef (float): Default 0.5.
        ent_coef (float): Default 0.0.
        normalize_advantage (bool): Default False.
        max_grad_norm (float): global gradient-norm clip. Default 0.5.

    Returns:
        dict: ``policy_loss``, ``value_loss`` and ``entropy`` (mean) as floats.
    """
    loss, policy_loss, value_loss, entropy = actor_critic_loss(
        policy, obs, actions, returns, advantages, vf_coef, ent_coef, normalize_advantage)
    optimizer.zero_grad()
    loss.backward()
    clip_grad_norm_(policy.parameters(), max_grad_norm)
    optimizer.step()
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": float(entropy.array.mean())}

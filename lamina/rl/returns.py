"""Returns and advantages on raw arrays: GAE(lambda), reward-to-go, n-step targets.

Every function takes time-major arrays ``(T, n_envs)`` and separates *terminated* (the MDP
ended: the future is worth 0) from *truncated* (a time limit cut the episode: the future is
worth ``V(s_next)``, bootstrapped from the observation the episode really reached).
"""

from __future__ import annotations

from .. import backend as B

np = B.np

__all__ = ["compute_gae", "reward_to_go"]


def compute_gae(rewards, values, next_values, terminated, truncated, gamma: float = 0.99,
                gae_lambda: float = 0.95):
    """Generalized advantage estimation (Schulman et al. 2016) with truncation bootstrapping.

    ``delta_t = r_t + gamma * (1 - term_t) * V(s'_t) - V(s_t)`` and
    ``A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}``, where ``s'_t`` is the state
    reached by step ``t`` (for a truncated step, the final observation before the reset) and
    ``done = term | trunc`` stops the recursion at episode boundaries.

    Args:
        rewards (ndarray): ``(T, N)`` rewards.
        values (ndarray): ``(T, N)`` ``V(s_t)``.
        next_values (ndarray): ``(T, N)`` ``V(s'_t)`` (ignored where terminated).
        terminated (ndarray): ``(T, N)`` bool.
        truncated (ndarray): ``(T, N)`` bool.
        gamma (float): discount. Default 0.99.
        gae_lambda (float): bias/variance trade-off; 1 gives Monte-Carlo advantages, 0 TD(0).
            Default 0.95.

    Returns:
        tuple[ndarray, ndarray]: advantages ``(T, N)`` and returns ``advantages + values``
        (the value targets), float32.

    Example:
        >>> adv, ret = compute_gae(r, v, v_next, term, trunc, gamma=0.98, gae_lambda=0.8)
    """
    rewards = np.asarray(rewards, np.float32)
    T = rewards.shape[0]
    nonterm = 1.0 - np.asarray(terminated, np.float32)
    notdone = 1.0 - np.maximum(np.asarray(terminated, np.float32),
                               np.asarray(truncated, np.float32))
    deltas = rewards + gamma * nonterm * np.asarray(next_values, np.float32) - values
    adv = np.zeros_like(rewards)
    last = np.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        last = deltas[t] + (gamma * gae_lambda) * notdone[t] * last
        adv[t] = last
    return adv, (adv + values).astype(np.float32)


def reward_to_go(rewards, terminated, truncated=None, gamma: float = 0.99, bootstrap=None):
    """Discounted reward-to-go ``G_t = r_t + gamma * G_{t+1}``, reset at episode ends.

    Args:
        rewards (ndarray): ``(T, N)`` or ``(T,)`` rewards.
        terminated (ndarray): same shape, bool.
        truncated (ndarray, optional): same shape, bool; the sum stops there too and adds
            ``gamma * bootstrap`` (0 when ``bootstrap`` is None).
        gamma (float): discount. Default 0.99.
        bootstrap (ndarray, optional): same shape: the value of the state after each step,
            used at truncated steps (and the last step of an unfinished episode).

    Returns:
        ndarray: float32, shape of ``rewards``.
    """
    r = np.asarray(rewards, np.float32)
    term = np.asarray(terminated, bool)
    trunc = np.zeros_like(term) if truncated is None else np.asarray(truncated, bool)
    boot = np.zeros_like(r) if bootstrap is None else np.asarray(bootstrap, np.float32)
    out = np.zeros_like(r)
    run = np.zeros_like(r[0])
    for t in range(r.shape[0] - 1, -1, -1):
        nxt = run if t < r.shape[0] - 1 else boot[t]
        run = r[t] + gamma * np.where(term[t], 0.0, np.where(trunc[t], boot[t], nxt))
        out[t] = run
    return out.astype(np.float32)

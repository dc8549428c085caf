"""Policies and value networks: MLPs, categorical and diagonal-Gaussian heads, Q-networks.

Each network is an ordinary :class:`lamina.nn.Module` (trained through autograd) that also has
a raw NumPy forward (``*_numpy``) for acting: choosing one action per environment step is a
few matrix products, and skipping graph construction there is what makes small-network RL
fast (the update still uses autograd).
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from .. import nn
from ..autograd import no_grad, ones

np = B.np

__all__ = ["mlp", "mlp_numpy", "flat", "Categorical", "DiagGaussian", "ActorCritic", "QNetwork",
           "sync_params", "ACTIVATIONS"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_NP_ACT = {nn.Tanh: np.tanh, nn.ReLU: lambda x: np.maximum(x, 0.0)}


def mlp(in_features: int, hidden, out_features: int | None, activation: str = "tanh",
        ortho_gain: float | None = None, out_gain: float = 1.0) -> nn.Sequential:
    """``Linear -> act -> ... [-> Linear(out)]``.

    Args:
        in_features (int): input size.
        hidden (list[int]): hidden widths, e.g. ``[64, 64]``.
        out_features (int, optional): a final linear layer's size (None: end at the last
            hidden activation).
        activation (str): ``"tanh"`` or ``"relu"``. Default ``"tanh"``.
        ortho_gain (float, optional): orthogonal init with this gain for hidden layers (and
            zero biases); None keeps PyTorch's default init.
        out_gain (float): orthogonal gain of the output layer when ``ortho_gain`` is set.

    Returns:
        nn.Sequential
    """
    layers, d = [], int(in_features)
    for h in hidden:
        layers += [nn.Linear(d, int(h)), ACTIVATIONS[activation]()]
        d = int(h)
    if out_features is not None:
        layers.append(nn.Linear(d, int(out_features)))
    if ortho_gain is not None:
        lin = [m for m in layers if isinstance(m, nn.Linear)]
        for i, m in enumerate(lin):
            last = out_features is not None and i == len(lin) - 1
            nn.init.orthogonal_(m.weight, gain=out_gain if last else ortho_gain)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


def flat(obs):
    """``(B, *obs_shape) -> (B, prod(obs_shape))`` (a view when possible)."""
    return obs.reshape(len(obs), -1)


def mlp_numpy(seq: nn.Sequential, x):
    """The forward of an :func:`mlp` on a raw array, without building a graph."""
    for m in seq:
        if isinstance(m, nn.Linear):
            x = x @ m.weight.array.T + m.bias.array
        else:
            x = _NP_ACT[type(m)](x)
    return x


class Categorical:
    """Distribution over ``n`` discrete actions from logits ``(B, n)`` (Tensor or array)."""

    @staticmethod
    def log_prob(logits, actions):
        """Tensor ``(B,)``: ``log softmax(logits)[b, actions[b]]``."""
        logp = F.log_softmax(logits, dim=-1)
        return logp[np.arange(logp.shape[0]), np.asarray(actions, np.int64)]

    @staticmethod
    def entropy(logits):
        """Tensor ``(B,)``: ``-sum_a p_a log p_a``."""
        logp = F.log_softmax(logits, dim=-1)
        return -(logp.exp() * logp).sum(axis=-1)

    @staticmethod
    def sample_numpy(logits, deterministic=False):
        """Actions ``(B,)`` and their log-probabilities from raw logits (Gumbel-max draw)."""
        z = logits - logits.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        if deterministic:
            a = logp.argmax(axis=-1)
        else:
            u = B.rng().random(logp.shape)
            a = (logp - np.log(-np.log(u + 1e-12) + 1e-12)).argmax(axis=-1)
        return a, logp[np.arange(len(a)), a]


class DiagGaussian:
    """Diagonal Gaussian with a state-independent ``log_std`` (one Parameter per action dim)."""

    @staticmethod
    def log_prob(mean, log_std, actions):
        """Tensor ``(B,)``: ``sum_d log N(a_d; mean_d, exp(log_std_d))``."""
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(axis=-1)

    @staticmethod
    def entropy(mean, log_std):
        """Tensor ``(B,)``: ``sum_d (0.5 + 0.5 log(2 pi) + log_std_d)``."""
        h = (log_std + 0.5 + 0.5 * math.log(2 * math.pi)).sum()
        return h * ones(mean.shape[0], dtype=mean.dtype)

    @staticmethod
    def sample_numpy(mean, log_std, deterministic=False):
        """Actions ``(B, d)`` and their log-probabilities from raw arrays."""
        if deterministic:
            a = mean
        else:
            a = (mean + np.exp(log_std) * B.rng().standard_normal(mean.shape)).astype(
                np.float32)
        z = (a - mean) / np.exp(log_std)
        lp = (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(axis=-1)
        return a, lp


class ActorCritic(nn.Module):
    """Separate policy and value MLPs (SB3's ``MlpPolicy`` layout for PPO/A2C).

    Args:
        obs_dim (int): flat observation size.
        action (tuple): ``("discrete", n)`` or ``("box", (low, high, shape))``.
        net_arch (list[int]): hidden widths of both networks. Default ``[64, 64]``.
        activation (str): Default ``"tanh"``.
        ortho_init (bool): orthogonal init, gains sqrt(2) hidden / 0.01 policy / 1 value.
            Default True.
        log_std_init (float): initial ``log_std`` of a Gaussian policy. Default 0.

    Shape:
        obs ``(B, obs_dim)``; ``evaluate(obs, actions)`` gives ``(B,)`` log-probs,
        entropies and values.
    """

    def __init__(self, obs_dim, action, net_arch=(64, 64), activation="tanh",
                 ortho_init=True, log_std_init=0.0):
        super().__init__()
        self.kind, spec = action
        out = spec if self.kind == "discrete" else int(np.prod(spec[2]))
        g = math.sqrt(2) if ortho_init else None
        self.pi = mlp(obs_dim, net_arch, out, activation, g, 0.01)
        self.vf = mlp(obs_dim, net_arch, 1, activation, g, 1.0)
        if self.kind == "box":
            self.log_std = nn.Parameter(np.full(out, log_std_init, B.get_default_dtype()))

    def value(self, obs):
        """Tensor ``(B,)`` of state values."""
        return self.vf(obs).reshape(-1)

    def evaluate(self, obs, actions):
        """``(log_prob, entropy, value)`` Tensors ``(B,)`` for stored actions."""
        out = self.pi(obs)
        if self.kind == "discrete":
            lp, ent = Categorical.log_prob(out, actions), Categorical.entropy(out)
        else:
            lp = DiagGaussian.log_prob(out, self.log_std, actions)
            ent = DiagGaussian.entropy(out, self.log_std)
        return lp, ent, self.value(obs)

    def act_numpy(self, obs, deterministic=False):
        """``(actions, log_probs, values)`` as arrays, without autograd."""
        out = mlp_numpy(self.pi, obs)
        if self.kind == "discrete":
            a, lp = Categorical.sample_numpy(out, deterministic)
        else:
            a, lp = DiagGaussian.sample_numpy(out, self.log_std.array, deterministic)
        return a, lp, mlp_numpy(self.vf, obs)[:, 0]

    def value_numpy(self, obs):
        return mlp_numpy(self.vf, obs)[:, 0]


class QNetwork(nn.Module):
    """Action values ``Q(s, .)``: a plain MLP head or a dueling one (Wang et al. 2016).

    Dueling: ``Q = V(s) + A(s, a) - mean_a A(s, a)`` from a shared trunk.

    Args:
        obs_dim (int): observation size.
        n_actions (int): discrete actions.
        net_arch (list[int]): hidden widths. Default ``[64, 64]``.
        dueling (bool): Default False.
        activation (str): Default ``"relu"``.

    Shape:
        ``(B, obs_dim) -> (B, n_actions)``.
    """

    def __init__(self, obs_dim, n_actions, net_arch=(64, 64), dueling=False,
                 activation="relu"):
        super().__init__()
        self.dueling = bool(dueling)
        if self.dueling:
            self.trunk = mlp(obs_dim, net_arch, None, activation)
            d = int(net_arch[-1]) if len(net_arch) else obs_dim
            self.adv = nn.Linear(d, n_actions)
            self.val = nn.Linear(d, 1)
        else:
            self.q = mlp(obs_dim, net_arch, n_actions, activation)

    def forward(self, obs):
        if not self.dueling:
            return self.q(obs)
        h = self.trunk(obs)
        a = self.adv(h)
        return self.val(h) + a - a.mean(axis=-1, keepdims=True)

    def q_numpy(self, obs):
        """``Q(s, .)`` on a raw array, no graph."""
        if not self.dueling:
            return mlp_numpy(self.q, obs)
        h = mlp_numpy(self.trunk, obs)
        a = h @ self.adv.weight.array.T + self.adv.bias.array
        v = h @ self.val.weight.array.T + self.val.bias.array
        return v + a - a.mean(axis=-1, keepdims=True)


def sync_params(target: nn.Module, source: nn.Module, tau: float = 1.0) -> None:
    """``target <- tau * source + (1 - tau) * target`` parameter-wise (1: a hard copy)."""
    with no_grad():
        for pt, ps in zip(target.parameters(), source.parameters()):
            if tau >= 1.0:
                pt.array[...] = ps.array
            else:
                pt.array[...] = (1.0 - tau) * pt.array + tau * ps.array

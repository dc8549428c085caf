"""Hyper-parameter presets for the classic-control tasks.

Taken from the RL Baselines3 Zoo (https://github.com/DLR-RM/rl-baselines3-zoo,
``hyperparams/{ppo,a2c,dqn}.yml``; "Tuned" entries where the Zoo has them), translated to
lamina's names: ``normalize: true`` becomes ``normalize_obs`` and ``normalize_reward``;
``policy_kwargs=dict(net_arch=[256, 256])`` becomes ``net_arch``. DQN's ``net_arch`` default
in SB3 is ``[64, 64]`` with ReLU; PPO/A2C use tanh ``[64, 64]``. SB3's Pendulum PPO preset uses
gSDE, which lamina does not implement: the Pendulum entry keeps the Zoo's other values with a
plain Gaussian policy and more steps. DQN's CartPole entry adds double DQN and a linearly
annealed learning rate (commented below). REINFORCE has no Zoo entry; its presets are
lamina's own.

Each entry maps to ``(hyperparams, n_timesteps)``.
"""

from __future__ import annotations

from ..errors import op_error

__all__ = ["PRESETS", "get_preset"]

_NORM = {"normalize_obs": True, "normalize_reward": True}

PRESETS = {
    "ppo": {
        "CartPole-v1": ({"n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8,
                         "gamma": 0.98, "n_epochs": 20, "ent_coef": 0.0,
                         "learning_rate": "lin_0.001", "clip_range": "lin_0.2"}, 100_000),
        "Acrobot-v1": ({**_NORM, "n_envs": 16, "n_steps": 256, "gae_lambda": 0.94,
                        "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0}, 1_000_000),
        "MountainCar-v0": ({**_NORM, "n_envs": 16, "n_steps": 16, "gae_lambda": 0.98,
                            "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0}, 1_000_000),
        # Zoo: n_envs 4, n_steps 1024, gae 0.95, gamma 0.9, 10 epochs, lr 1e-3, clip 0.2, gSDE
        "Pendulum-v1": ({"n_envs": 4, "n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9,
                         "n_epochs": 10, "ent_coef": 0.0, "learning_rate": 1e-3,
                         "clip_range": 0.2, "normalize_obs": True, "log_std_init": -1.0},
                        200_000),
    },
    "a2c": {
        "CartPole-v1": ({"n_envs": 8, "ent_coef": 0.0}, 500_000),
        "Acrobot-v1": ({**_NORM, "n_envs": 16, "ent_coef": 0.0}, 500_000),
        "MountainCar-v0": ({**_NORM, "n_envs": 16, "ent_coef": 0.0}, 1_000_000),
    },
    "dqn": {
        # Zoo values, plus two of lamina's: double_q and the learning rate annealed to 0
        # ("lin_2.3e-3" for the Zoo's constant 2.3e-3). With the Zoo's values alone (as in
        # SB3) the mean Q estimate climbed past 1 / (1 - gamma) = 100, the most any
        # CartPole state can be worth, and seed 0's greedy policy collapsed (docs/rl.md).
        "CartPole-v1": ({"learning_rate": "lin_2.3e-3", "batch_size": 64,
                         "buffer_size": 100_000, "learning_starts": 1000, "gamma": 0.99,
                         "target_update_interval": 10, "train_freq": 256,
                         "gradient_steps": 128, "exploration_fraction": 0.16,
                         "exploration_final_eps": 0.04, "net_arch": [256, 256],
                         "double_q": True}, 50_000),
        "MountainCar-v0": ({"learning_rate": 4e-3, "batch_size": 128, "buffer_size": 10_000,
                            "learning_starts": 1000, "gamma": 0.98,
                            "target_update_interval": 600, "train_freq": 16,
                            "gradient_steps": 8, "exploration_fraction": 0.2,
                            "exploration_final_eps": 0.07, "net_arch": [256, 256]}, 120_000),
        "Acrobot-v1": ({"learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50_000,
                        "learning_starts": 0, "gamma": 0.99, "target_update_interval": 250,
                        "train_freq": 4, "gradient_steps": -1, "exploration_fraction": 0.12,
                        "exploration_final_eps": 0.1, "net_arch": [256, 256]}, 100_000),
    },
    "reinforce": {
        "CartPole-v1": ({"n_envs": 8, "learning_rate": 2e-3, "gamma": 0.99,
                         "episodes_per_update": 8}, 300_000),
    },
}


def get_preset(algo: str, env_id: str):
    """``(hyperparams, n_timesteps)`` for ``algo`` on ``env_id`` (a copy).

    Raises:
        ValueError: no such preset; the message lists the environments that have one.
    """
    table = PRESETS.get(algo, {})
    if env_id not in table:
        raise op_error(f"{algo.upper()}.from_preset", f"an environment with a preset, one of "
                       f"{sorted(table)}", repr(env_id), "pass hyper-parameters explicitly",
                       cls=ValueError)
    hp, steps = table[env_id]
    return {k: (list(v) if isinstance(v, list) else v) for k, v in hp.items()}, steps

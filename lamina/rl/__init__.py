"""``lamina.rl``: reinforcement learning on gymnasium (seed Q48).

Agents share one interface (:class:`Agent`): ``Agent(env, policy="MlpPolicy", seed=...,
**hyperparams)``, ``.learn(total_timesteps)``, ``.predict(obs)``, ``.evaluate(n_episodes)``,
``.save(path)`` / ``.load(path)`` and ``.from_preset(env_id)`` (RL Zoo hyper-parameters).
Needs gymnasium (``pip install 'lamina[rl]'``).

Example:
    >>> from lamina.rl import PPO
    >>> agent = PPO.from_preset("CartPole-v1", seed=0).learn(100_000)
    >>> agent.evaluate(20)       # (mean, std) of episode returns
"""

from .a2c import A2C
from .base import Agent
from .buffers import NStepAccumulator, ReplayBuffer, RolloutBuffer
from .dqn import DQN
from .envs import RunningMeanStd, make_vec_env
from .logging import RLProgressBar, RLTensorBoard, plot_learning_curves, render_gif
from .policies import ActorCritic, Categorical, DiagGaussian, QNetwork
from .ppo import PPO, ppo_clip_loss
from .presets import PRESETS, get_preset
from .reinforce import REINFORCE
from .returns import compute_gae, reward_to_go
from .schedules import constant, linear, linear_epsilon, parse_schedule

ALGORITHMS = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "reinforce": REINFORCE}

__all__ = ["Agent", "PPO", "A2C", "DQN", "REINFORCE", "ALGORITHMS", "ReplayBuffer",
           "NStepAccumulator", "RolloutBuffer", "RunningMeanStd", "make_vec_env",
           "ActorCritic", "QNetwork", "Categorical", "DiagGaussian", "ppo_clip_loss",
           "compute_gae", "reward_to_go", "constant", "linear", "linear_epsilon",
           "parse_schedule", "PRESETS", "get_preset", "RLProgressBar", "RLTensorBoard",
           "plot_learning_curves", "render_gif"]

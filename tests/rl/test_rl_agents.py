"""The Agent interface: determinism, bad input, save/load, predict, callbacks, vector envs."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from lamina.rl import A2C, DQN, PPO, REINFORCE, Agent, RLProgressBar  # noqa: E402
from lamina.train import Callback  # noqa: E402

SMALL_PPO = dict(n_envs=2, n_steps=32, batch_size=32, n_epochs=2)
SMALL_DQN = dict(learning_starts=50, train_freq=16, gradient_steps=4, batch_size=16,
                 buffer_size=1000, target_update_interval=50)


@pytest.mark.parametrize("cls,hp", [(PPO, SMALL_PPO), (DQN, SMALL_DQN), (A2C, {"n_envs": 2}),
                                    (REINFORCE, {"n_envs": 2, "episodes_per_update": 2})])
def test_same_seed_same_returns(cls, hp):
    runs = [cls("CartPole-v1", seed=3, **hp).learn(600).history["episode_return"]
            for _ in range(2)]
    other = cls("CartPole-v1", seed=4, **hp).learn(600).history["episode_return"]
    assert runs[0] == runs[1] and len(runs[0]) > 3
    assert other != runs[0]


def test_timesteps_count_single_env_transitions():
    agent = PPO("CartPole-v1", seed=0, **{**SMALL_PPO, "n_envs": 4, "n_steps": 8})
    agent.learn(64)
    assert agent.num_timesteps == 64 and len(agent.logs) == 2


def test_bad_inputs_name_what_was_expected():
    class MultiBinaryActions(gym.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.action_space = gym.spaces.MultiBinary(2)

    with pytest.raises(ValueError, match="action space of type Discrete or Box, got MultiBin"):
        PPO(MultiBinaryActions(gym.make("CartPole-v1")))
    with pytest.raises(ValueError, match="Box observation space, got Tuple"):
        PPO(gym.make("Blackjack-v1"))
    with pytest.raises(ValueError, match="Discrete"):
        DQN("Pendulum-v1")
    with pytest.raises(TypeError, match="gymnasium.Env"):
        PPO(object())
    with pytest.raises(ValueError, match="registered gymnasium environment id"):
        PPO("NoSuchEnv-v9")
    with pytest.raises(ValueError, match="preset.*CartPole-v1"):
        DQN.from_preset("Pendulum-v1")
    with pytest.raises(ValueError, match="unknown \\['n_stpes'\\]"):
        PPO("CartPole-v1", n_stpes=5)
    with pytest.raises(ValueError, match="n_envs == 1"):
        PPO(gym.make("CartPole-v1"), n_envs=2)
    agent = PPO("CartPole-v1", **SMALL_PPO)
    with pytest.raises(ValueError, match=r"observation of shape \(4,\)"):
        agent.predict(np.zeros(3))


def test_save_load_roundtrip_predicts_the_same(tmp_path):
    for cls, hp in ((PPO, {**SMALL_PPO, "normalize_obs": True}), (DQN, SMALL_DQN)):
        agent = cls("CartPole-v1", seed=0, **hp).learn(256)
        path = tmp_path / f"{cls.algo}.safetensors"
        agent.save(path)
        back = Agent.load(path)
        assert type(back) is cls and back.num_timesteps == agent.num_timesteps
        obs = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
        np.testing.assert_array_equal(back.predict(obs), agent.predict(obs))
        assert back.evaluate(2) == agent.evaluate(2)
    assert b"pickle" not in path.read_bytes()[:8]
    with pytest.raises(ValueError, match="ppo file"):
        PPO.load(path)


def test_predict_single_and_batch_and_gaussian_actions_in_bounds():
    agent = PPO("Pendulum-v1", seed=0, n_steps=16, batch_size=16, n_epochs=1)
    agent.learn(32)
    a = agent.predict(np.zeros(3), deterministic=False)
    assert a.shape == (1,) and -2.0 <= a[0] <= 2.0
    batch = agent.predict(np.zeros((5, 3)), deterministic=False)
    assert batch.shape == (5, 1) and np.all(np.abs(batch) <= 2.0)
    squash = PPO("Pendulum-v1", seed=0, action_mode="squash", log_std_init=2.0)
    sq = squash.predict(np.zeros((50, 3)), deterministic=False)
    assert np.all(np.abs(sq) <= 2.0) and len(np.unique(sq)) > 10     # tanh, not a clip


def test_callbacks_see_logs_and_can_stop(capsys):
    seen = []

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))
            if epoch == 2:
                self.trainer.stop_training = True

    PPO("CartPole-v1", seed=0, **SMALL_PPO).learn(10_000, callbacks=[Stop(),
                                                                    RLProgressBar(every=0)])
    assert len(seen) == 3 and {"timesteps", "mean_return", "policy_loss"} <= set(seen[0])
    assert "steps/s" in capsys.readouterr().out


def test_truncated_episodes_are_bootstrapped_not_terminal():
    env = gym.wrappers.TimeLimit(gym.make("CartPole-v1").unwrapped, max_episode_steps=5)
    agent = PPO(env, seed=0, n_steps=20, batch_size=20, n_epochs=1, gamma=1.0, gae_lambda=1.0)
    agent.policy.vf[-1].bias.array[...] = 100.0        # V = 100 everywhere (weights ~0 too)
    agent.policy.vf[-1].weight.array[...] = 0.0
    agent._reset()
    agent.collect_rollout(agent.normalize_obs(agent._obs))
    buf = agent.rollout
    cut = buf.truncated[:, 0] & ~buf.terminated[:, 0]
    assert cut.any()
    # at a truncation the return is r + V(final) = 101, not r = 1
    np.testing.assert_allclose(buf.returns[cut, 0], 101.0, rtol=1e-5)


def test_async_vector_env_option():
    agent = PPO("CartPole-v1", seed=0, vectorization="async", **SMALL_PPO)
    agent.learn(64)
    agent.env.close()
    assert agent.num_timesteps == 64

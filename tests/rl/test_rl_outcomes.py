"""Learning outcomes on classic control. CI runs one seed of PPO and DQN on a shortened
budget with the thresholds those budgets reach; the issue's full multi-seed studies are
``slow`` (their numbers and curves are in docs/rl.md)."""

import pytest

pytest.importorskip("gymnasium")

from lamina.rl import A2C, DQN, PPO, REINFORCE  # noqa: E402


def test_ppo_cartpole_one_seed_learns_in_ci():
    # a quarter of the preset budget (measured: training mean 125, greedy 140.5; random ~22)
    agent = PPO.from_preset("CartPole-v1", seed=0)
    agent.learn(25_600)
    mean, _ = agent.evaluate(10)
    assert agent.mean_return() >= 100 and mean >= 120


def test_dqn_cartpole_one_seed_learns_in_ci():
    # a quarter of the preset budget (measured with the double-DQN, annealed-lr preset:
    # greedy 109.1 over 10 episodes, training mean 103.0; random ~22)
    agent = DQN.from_preset("CartPole-v1", seed=0)
    agent.learn(12_000)
    mean, _ = agent.evaluate(10)
    assert mean >= 75


def _solved(cls, env_id, steps, threshold, seeds=range(5), **hp):
    scores = []
    for s in seeds:
        agent = cls.from_preset(env_id, seed=s, **hp)
        agent.learn(steps)
        scores.append(agent.evaluate(20)[0])
    return sum(m >= threshold for m in scores), scores


# Figures of the slow studies (20 greedy episodes per seed, taken on a loaded 2-core machine)
# are in docs/rl.md, "Results".


@pytest.mark.slow
def test_ppo_cartpole_475_within_100k_for_4_of_5_seeds():
    # measured: 500.0 for each of seeds 0-4 (about 25 s CPU each)
    n, scores = _solved(PPO, "CartPole-v1", 100_000, 475)
    assert n >= 4, scores


@pytest.mark.slow
def test_dqn_cartpole_450_within_50k_for_3_of_5_seeds():
    # the issue asks for >= 450 within 100k for 3 of 5; measured at the preset's (the Zoo's)
    # 50k: 316.5, 500.0, 467.5, 141.0, 500.0 for seeds 0-4 (about 250 s CPU each)
    # (at 100k seed 0 gave 142.4 and seed 3 500.0: still seed-dependent, see docs/rl.md)
    n, scores = _solved(DQN, "CartPole-v1", 50_000, 450)
    assert n >= 3, scores


@pytest.mark.slow
def test_a2c_and_reinforce_solve_cartpole():
    # measured (seed 0): A2C 500.0 after 500k, REINFORCE 500.0 after 300k
    assert _solved(A2C, "CartPole-v1", 500_000, 475, seeds=[0])[0] == 1
    assert _solved(REINFORCE, "CartPole-v1", 300_000, 475, seeds=[0])[0] == 1


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="unmet: measured -512.6 (seed 0, 200k steps); the Zoo "
                   "reaches -172 with gSDE, which lamina lacks (docs/rl.md)")
def test_ppo_gaussian_pendulum_reaches_minus_300():
    n, scores = _solved(PPO, "Pendulum-v1", 200_000, -300, seeds=[0])
    assert n == 1, scores

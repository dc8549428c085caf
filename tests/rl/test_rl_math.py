"""Math of the shared RL pieces: GAE, reward-to-go, the PPO clipped loss, replay, policies."""

import math

import numpy as np
import pytest

import lamina
from lamina.rl import (Categorical, DiagGaussian, NStepAccumulator, ReplayBuffer,
                       RolloutBuffer, compute_gae, parse_schedule, ppo_clip_loss,
                       reward_to_go)
from lamina.rl.envs import RunningMeanStd


def test_gae_hand_computed_with_truncation_bootstrap():
    # one env, 4 steps: step 1 truncated (bootstrap from V(final)=2.0), step 3 terminated
    r = np.array([[1.0], [1.0], [1.0], [1.0]], np.float32)
    v = np.array([[0.5], [0.4], [0.3], [0.2]], np.float32)
    v_next = np.array([[0.4], [2.0], [0.2], [9.0]], np.float32)   # 9.0 ignored: terminated
    term = np.array([[0], [0], [0], [1]], bool)
    trunc = np.array([[0], [1], [0], [0]], bool)
    g, lam = 0.9, 0.8
    d3 = 1.0 - 0.2
    d2 = 1.0 + g * 0.2 - 0.3
    d1 = 1.0 + g * 2.0 - 0.4          # truncated: bootstrapped, recursion stops
    d0 = 1.0 + g * 0.4 - 0.5
    a3, a2 = d3, d2 + g * lam * d3
    a1 = d1
    a0 = d0 + g * lam * a1
    adv, ret = compute_gae(r, v, v_next, term, trunc, g, lam)
    np.testing.assert_allclose(adv[:, 0], [a0, a1, a2, a3], rtol=1e-6)
    np.testing.assert_allclose(ret, adv + v, rtol=1e-6)
    assert adv.dtype == np.float32


def test_gae_lambda_one_is_discounted_return_minus_value():
    rs = np.random.default_rng(0)
    r = rs.standard_normal((6, 2)).astype(np.float32)
    v = rs.standard_normal((6, 2)).astype(np.float32)
    nv = np.concatenate([v[1:], np.zeros((1, 2), np.float32)])
    term = np.zeros((6, 2), bool)
    term[-1] = True
    adv, _ = compute_gae(r, v, nv, term, np.zeros_like(term), 0.95, 1.0)
    g = reward_to_go(r, term, gamma=0.95)
    np.testing.assert_allclose(adv, g - v, rtol=1e-5, atol=1e-5)


def test_reward_to_go_resets_and_bootstraps():
    r = np.array([1.0, 1.0, 1.0, 1.0], np.float32)
    term = np.array([0, 1, 0, 0], bool)
    trunc = np.array([0, 0, 0, 1], bool)
    boot = np.array([0, 0, 0, 10.0], np.float32)
    g = reward_to_go(r, term, trunc, gamma=0.5, bootstrap=boot)
    np.testing.assert_allclose(g, [1.5, 1.0, 1.0 + 0.5 * 6.0, 1.0 + 0.5 * 10.0])


def test_ppo_clip_loss_value_and_gradient_match_definition():
    rs = np.random.default_rng(1)
    old = rs.standard_normal(16)
    new = old + rs.uniform(-0.5, 0.5, 16)       # ratios on both sides of the clip window
    adv = rs.standard_normal(16)
    eps = 0.2
    lp = lamina.tensor(new, dtype="float64", requires_grad=True)
    loss = ppo_clip_loss(lp, old, adv, eps)
    ratio = np.exp(new - old)
    ref = -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - eps, 1 + eps) * adv))
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-12)
    loss.backward()
    # d/dlp of -min(rA, clip(r)A)/n: -rA/n where the unclipped term is the minimum, else 0
    unclipped = ratio * adv <= np.clip(ratio, 1 - eps, 1 + eps) * adv
    inside = (ratio > 1 - eps) & (ratio < 1 + eps)
    grad = np.where(unclipped | inside, -ratio * adv / 16, 0.0)
    np.testing.assert_allclose(lp.grad.numpy(), grad, rtol=1e-10, atol=1e-14)
    assert (grad == 0).any() and (grad != 0).any()


def test_replay_buffer_uniform_and_never_unwritten():
    lamina.manual_seed(0)
    buf = ReplayBuffer(10, (2,))
    ones = np.ones(3, np.float32)
    buf.add(np.arange(6).reshape(3, 2), np.arange(3), ones * np.arange(3), np.zeros((3, 2)),
            np.zeros(3), ones)
    s = buf.sample(3000)
    assert set(np.unique(s["actions"])) == {0, 1, 2}       # slots 3..9 never written
    counts = np.bincount(s["actions"], minlength=3)
    # chi-square goodness of fit to uniform (3 cells, 2 dof; 13.8 is the 0.999 quantile)
    chi2 = ((counts - 1000) ** 2 / 1000).sum()
    assert chi2 < 13.8
    for k in range(4):                                      # wrap around: 12 written, 10 kept
        buf.add(np.zeros((3, 2)), 10 + 3 * k + np.arange(3), ones, np.zeros((3, 2)),
                np.zeros(3), ones)
    assert len(buf) == 10 and set(np.unique(buf.sample(2000)["actions"])) == set(range(12, 22))
    with pytest.raises(ValueError, match="empty buffer"):
        ReplayBuffer(4, (1,)).sample(1)


def test_nstep_accumulator_sums_rewards_and_stops_at_episode_end():
    acc = NStepAccumulator(3, 0.5, 1)
    outs = []
    for t in range(4):
        o = acc.push(np.full((1, 1), t, np.float32), np.array([t]), np.array([1.0]),
                     np.full((1, 1), t + 1, np.float32), np.array([t == 3]), np.array([False]))
        outs.append(o)
    assert outs[0] is None and outs[1] is None
    obs, act, rew, nxt, term, disc = outs[2]
    assert act.tolist() == [0] and rew[0] == pytest.approx(1.75) and disc[0] == 0.125
    assert nxt[0, 0] == 3 and term[0] == 0
    obs, act, rew, nxt, term, disc = outs[3]                 # terminal step flushes the queue
    assert act.tolist() == [1, 2, 3] and term.tolist() == [1, 1, 1]
    np.testing.assert_allclose(rew, [1.75, 1.5, 1.0])


def test_categorical_log_probs_sum_to_one_and_sampling_matches():
    rs = np.random.default_rng(2)
    logits = rs.standard_normal((5, 4)).astype(np.float32)
    all_lp = np.stack([Categorical.log_prob(lamina.tensor(logits), np.full(5, a)).numpy()
                       for a in range(4)], 1)
    np.testing.assert_allclose(np.exp(all_lp).sum(1), 1.0, rtol=1e-5)
    ent = Categorical.entropy(lamina.tensor(logits)).numpy()
    np.testing.assert_allclose(ent, -(np.exp(all_lp) * all_lp).sum(1), rtol=1e-5)
    lamina.manual_seed(0)
    a, lp = Categorical.sample_numpy(np.repeat(logits[:1], 20000, 0))
    freq = np.bincount(a, minlength=4) / 20000
    np.testing.assert_allclose(freq, np.exp(all_lp[0]), atol=0.015)
    np.testing.assert_allclose(lp, all_lp[0][a], rtol=1e-5)


def test_gaussian_log_prob_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rs = np.random.default_rng(3)
    mean = rs.standard_normal((6, 3))
    log_std = rs.standard_normal(3) * 0.5
    act = rs.standard_normal((6, 3))
    lp = DiagGaussian.log_prob(lamina.tensor(mean), lamina.tensor(log_std), lamina.tensor(act))
    ref = stats.norm.logpdf(act, mean, np.exp(log_std)).sum(1)
    np.testing.assert_allclose(lp.numpy(), ref, rtol=1e-10)
    ent = DiagGaussian.entropy(lamina.tensor(mean), lamina.tensor(log_std)).numpy()
    np.testing.assert_allclose(ent, stats.norm.entropy(0, np.exp(log_std)).sum(), rtol=1e-10)
    _, lp_np = DiagGaussian.sample_numpy(mean, log_std)
    assert lp_np.shape == (6,)


def test_rollout_buffer_fills_truncation_values_and_minibatches_cover_all():
    lamina.manual_seed(0)
    buf = RolloutBuffer(3, 2, (1,))
    for t in range(3):
        buf.add(np.full((2, 1), t), np.array([t, t]), np.zeros(2), np.zeros(2), np.ones(2),
                np.array([False, False]), np.array([t == 1, False]))
    buf.finish(np.array([5.0, 5.0]), {(1, 0): 7.0}, gamma=1.0, gae_lambda=1.0)
    assert buf.next_values[1, 0] == 7.0 and buf.next_values[2, 1] == 5.0
    np.testing.assert_allclose(buf.advantages[:, 0], [9.0, 8.0, 6.0])
    seen = np.concatenate([mb["actions"] for mb in buf.minibatches(4)])
    assert sorted(seen.tolist()) == [0, 0, 1, 1, 2, 2]


def test_schedules_and_running_stats():
    f = parse_schedule("lin_0.001")
    assert f(1.0) == pytest.approx(1e-3) and f(0.5) == pytest.approx(5e-4) and f(0.0) == 0
    assert parse_schedule(0.2)(0.3) == 0.2
    with pytest.raises(ValueError, match="lin_<number>"):
        parse_schedule("fast")
    rms = RunningMeanStd((2,))
    x = np.random.default_rng(4).standard_normal((1000, 2)) * 3 + 1
    rms.update(x[:400])
    rms.update(x[400:])
    np.testing.assert_allclose(rms.mean, x.mean(0), rtol=1e-3)
    np.testing.assert_allclose(rms.var, x.var(0), rtol=1e-3)
    assert rms.normalize(x).dtype == np.float32 and not math.isnan(rms.normalize(x).sum())


def test_actor_critic_loss_matches_its_definition_and_detaches_the_baseline():
    from lamina.autograd import Tensor
    from lamina.rl import ActorCritic
    from lamina.rl.losses import actor_critic_loss
    from lamina.rl.policies import mlp_numpy

    lamina.manual_seed(0)
    net = ActorCritic(3, ("discrete", 4), [8], ortho_init=False)
    rs = np.random.default_rng(5)
    obs = rs.standard_normal((6, 3)).astype(np.float32)
    acts = rs.integers(0, 4, 6)
    ret = rs.standard_normal(6).astype(np.float32)
    lg = mlp_numpy(net.pi, obs).astype(np.float64)
    logp = lg - np.log(np.exp(lg).sum(-1, keepdims=True))
    p = np.exp(logp)
    v = mlp_numpy(net.vf, obs)[:, 0].astype(np.float64)
    adv = ret - v                                        # REINFORCE: baseline V(s)
    want = (-(adv * logp[np.arange(6), acts]).mean() + 0.5 * ((ret - v) ** 2).mean()
            - 0.01 * (-(p * logp).sum(-1)).mean())
    loss, pl, vl, ent = actor_critic_loss(net, Tensor(obs), acts, ret, None, 0.5, 0.01)
    np.testing.assert_allclose(loss.item(), want, rtol=1e-5)
    # with vf_coef = 0 the value net gets no gradient: the baseline is a constant in -A log pi
    loss0 = actor_critic_loss(net, Tensor(obs), acts, ret, None, 0.0, 0.0)[0]
    loss0.backward()
    assert all(q.grad is None or not np.any(q.grad.array) for q in net.vf.parameters())
    assert any(np.any(q.grad.array) for q in net.pi.parameters())
    # given advantages (A2C) are used as they come, normalized on request
    a = rs.standard_normal(6).astype(np.float32)
    pl2 = actor_critic_loss(net, Tensor(obs), acts, ret, a, normalize_advantage=True)[1]
    an = (a - a.mean()) / (a.std() + 1e-8)
    np.testing.assert_allclose(pl2.item(), -(an * logp[np.arange(6), acts]).mean(), rtol=1e-5)


def test_dqn_td_targets_plain_and_double():
    pytest.importorskip("gymnasium")
    from lamina.rl import DQN
    from lamina.rl.policies import sync_params

    agent = DQN("CartPole-v1", seed=0, net_arch=[16], learning_starts=10, train_freq=8,
                gradient_steps=8, target_update_interval=10**9)
    agent.learn(400)                               # online net moves, target stays at init
    head = agent.policy.q[-1].weight                # make the two nets' argmaxes disagree
    head.array[...] += np.random.default_rng(0).standard_normal(head.shape).astype(np.float32)
    batch = agent.buffer.sample(256)
    assert batch["terminated"].any() and not batch["terminated"].all()
    q_t = agent.target.q_numpy(batch["next_obs"]).astype(np.float64)
    q_o = agent.policy.q_numpy(batch["next_obs"])
    live = (1.0 - batch["terminated"]) * batch["discounts"]
    agent.hp["double_q"] = False
    np.testing.assert_allclose(agent.td_targets(batch),
                               batch["rewards"] + live * q_t.max(-1), rtol=1e-5)
    agent.hp["double_q"] = True                    # target net evaluates the online argmax
    double = agent.td_targets(batch)
    np.testing.assert_allclose(
        double, batch["rewards"] + live * q_t[np.arange(256), q_o.argmax(-1)], rtol=1e-5)
    # never above the max target (the overestimation double DQN removes), below it somewhere
    plain = batch["rewards"] + live * q_t.max(-1)
    assert np.all(double <= plain + 1e-5) and np.any(double < plain - 1e-4)
    sync_params(agent.target, agent.policy)        # same nets: the two targets agree
    agent.hp["double_q"] = False
    np.testing.assert_allclose(agent.td_targets(batch),
                               batch["rewards"] + live * agent.policy.q_numpy(
                                   batch["next_obs"]).max(-1), rtol=1e-5)


@pytest.mark.torch
def test_dqn_loss_and_gradients_match_torch():
    torch = pytest.importorskip("torch")
    from lamina import functional as F
    from lamina.autograd import Tensor
    from lamina.rl import QNetwork

    lamina.manual_seed(0)
    net = QNetwork(4, 2, [16, 16])
    twin = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                               torch.nn.ReLU(), torch.nn.Linear(16, 2)).double()
    twin.load_state_dict({k: torch.tensor(v.array, dtype=torch.float64)
                          for k, v in zip(twin.state_dict(), net.parameters())})
    rs = np.random.default_rng(0)
    obs = rs.standard_normal((32, 4)).astype(np.float32)
    act = rs.integers(0, 2, 32)
    target = (rs.standard_normal(32) * 3).astype(np.float32)   # |TD error| on both sides of 1
    loss = F.smooth_l1_loss(net(Tensor(obs))[np.arange(32), act], Tensor(target))
    loss.backward()
    q_t = twin(torch.tensor(obs, dtype=torch.float64)).gather(1, torch.tensor(act)[:, None])
    ref = torch.nn.functional.smooth_l1_loss(q_t[:, 0], torch.tensor(target, dtype=torch.float64))
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    for p, tp in zip(net.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad.array, tp.grad.numpy(), rtol=1e-4, atol=1e-6)

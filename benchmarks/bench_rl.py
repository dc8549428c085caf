"""Environment steps per second of whole PPO and DQN training runs on CartPole-v1: lamina vs
Stable-Baselines3 with the same (RL Zoo) hyper-parameters, side by side in one process.

SB3 runs its torch at 1 thread (as SB3 recommends for small MLPs on the CPU); lamina learns
with 1 BLAS thread (its ``n_threads=1`` default). Each round trains a fresh agent for a
shortened budget (``BENCH_RL_SCALE`` multiplies it); rounds alternate between the peers and the
medians of CPU time (``time.process_time``: on a shared machine wall time measures the
neighbours) give the ratio. Run: ``python -m benchmarks rl``.
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.common import alternate_samples, blas_info

PPO_HP = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
              ent_coef=0.0, learning_rate=1e-3, clip_range=0.2)
DQN_HP = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
              gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
              exploration_fraction=0.16, exploration_final_eps=0.04)


def _lamina(algo, steps):
    from lamina.rl import DQN, PPO

    def run():
        if algo == "ppo":
            PPO("CartPole-v1", seed=0, n_envs=8, **PPO_HP).learn(steps)
        else:
            DQN("CartPole-v1", seed=0, net_arch=[256, 256], **DQN_HP).learn(steps)
    return run


def _sb3(algo, steps):
    import torch
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    torch.set_num_threads(1)

    def run():
        if algo == "ppo":
            PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=0), seed=0,
                device="cpu", **PPO_HP).learn(steps)
        else:
            DQN("MlpPolicy", "CartPole-v1", seed=0, device="cpu",
                policy_kwargs=dict(net_arch=[256, 256]), **DQN_HP).learn(steps)
    return run


def main(rounds: int = 3):
    scale = float(os.environ.get("BENCH_RL_SCALE", "1"))
    budgets = {"ppo": int(20_480 * scale), "dqn": int(8_192 * scale)}
    print(f"BLAS: {blas_info()}; rounds={rounds}; CPU-time medians")
    try:
        import stable_baselines3
        have_sb3 = True
        print(f"stable-baselines3 {stable_baselines3.__version__}")
    except ImportError:
        have_sb3 = False
        print("stable-baselines3 not installed: lamina only")
    results = {}
    for algo, steps in budgets.items():
        fns = {"lamina": _lamina(algo, steps)}
        if have_sb3:
            fns["sb3 (torch, 1 thread)"] = _sb3(algo, steps)
        samples = alternate_samples(fns, rounds=rounds, repeat=1, warmup=0,
                                    clock=time.process_time)
        med = {k: statistics.median(v) for k, v in samples.items()}
        print(f"\n{algo.upper()} CartPole-v1, {steps} steps (RL Zoo hyper-parameters)")
        for k, t in med.items():
            print(f"  {k:<24} {t:8.2f} s CPU  {steps / t:9,.0f} env-steps/s")
        if have_sb3:
            ratio = med["sb3 (torch, 1 thread)"] / med["lamina"]
            results[algo] = ratio
            print(f"  lamina / sb3 env-steps/s: x{ratio:.2f} (goal >= 1.5)")
    return results


if __name__ == "__main__":
    main()

"""PPO and DQN on CartPole-v1 with the RL Zoo's hyper-parameters, over several seeds.

Trains each algorithm per seed, evaluates 20 greedy episodes, plots the learning curves
(mean +- std over seeds) and writes the numbers next to them:

    python examples/rl_cartpole.py --seeds 5 --out docs/figures/rl --algos ppo,dqn

Needs gymnasium (``pip install 'lamina[rl]'``) and matplotlib.
"""

import argparse
import json
import os
import time

from lamina.rl import DQN, PPO, plot_learning_curves


def study(cls, env_id, steps, seeds):
    hists, evals, secs = [], [], []
    for s in seeds:
        t0 = time.perf_counter()
        agent = cls.from_preset(env_id, seed=s)
        agent.learn(steps)
        secs.append(time.perf_counter() - t0)
        mean, std = agent.evaluate(20)
        hists.append(agent.history)
        evals.append({"seed": s, "mean": mean, "std": std})
        print(f"{cls.algo} {env_id} seed {s}: {mean:.1f} +- {std:.1f} ({secs[-1]:.0f} s)",
              flush=True)
    return hists, evals, secs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--out", default="rl_cartpole")
    p.add_argument("--ppo-steps", type=int, default=100_000)
    p.add_argument("--dqn-steps", type=int, default=50_000)
    p.add_argument("--algos", default="ppo,dqn")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seeds = list(range(args.seeds))
    runs, results = {}, {}
    for name in args.algos.split(","):
        cls, steps = (PPO, args.ppo_steps) if name == "ppo" else (DQN, args.dqn_steps)
        hists, evals, secs = study(cls, "CartPole-v1", steps, seeds)
        runs[f"{name.upper()} ({steps // 1000}k steps)"] = hists
        results[name] = {"timesteps": steps, "evals": evals, "seconds": secs}
    tag = args.algos.replace(",", "_")
    plot_learning_curves(runs, os.path.join(args.out, f"cartpole_{tag}.png"),
                         title="CartPole-v1, RL Zoo hyper-parameters", threshold=475)
    with open(os.path.join(args.out, f"cartpole_{tag}.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}/cartpole_{tag}.png and .json")


if __name__ == "__main__":
    main()

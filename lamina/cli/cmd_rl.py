"""``lamina rl train ALGO ENV_ID`` and ``lamina rl eval RUN_DIR`` (reinforcement learning).

A run directory holds ``agent.safetensors`` (weights + hyper-parameters as JSON, never
pickle), ``episodes.csv`` (one training episode per line), ``learning_curve.png`` and
``summary.json`` (the evaluation's mean and std). Needs gymnasium (``lamina[rl]``).
"""

from __future__ import annotations

import json
import os

__all__ = ["register", "run", "parse_value"]


def register(subparsers) -> None:
    """Add ``rl`` with its ``train`` and ``eval`` sub-subcommands."""
    p = subparsers.add_parser("rl", help="reinforcement learning on gymnasium (PPO, A2C, DQN, "
                              "REINFORCE)")
    sub = p.add_subparsers(dest="rl_cmd", required=True)
    t = sub.add_parser("train", help="train an agent (RL Zoo preset when one exists)")
    t.add_argument("algo", help="ppo, a2c, dqn or reinforce")
    t.add_argument("env_id", help="gymnasium id, e.g. CartPole-v1")
    t.add_argument("--timesteps", type=int, help="environment steps (default: the preset's)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyper-parameter, e.g. --set n_envs=4 (repeatable)")
    t.add_argument("--out", metavar="RUN_DIR", help="default runs/rl-<algo>-<env>-s<seed>")
    t.add_argument("--eval-episodes", type=int, default=20)
    t.add_argument("--tensorboard", action="store_true", help="scalars to RUN_DIR/tb")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    e = sub.add_parser("eval", help="evaluate a trained run")
    e.add_argument("run_dir")
    e.add_argument("--episodes", type=int, default=20)
    e.add_argument("--seed", type=int, default=None)
    e.add_argument("--render-gif", action="store_true", help="write RUN_DIR/episode.gif")
    p.set_defaults(func=run)


def parse_value(text: str):
    """``--set`` values: JSON (numbers, true/false, lists, null), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _overrides(items):
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"lamina rl train: expected --set KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


def run(args) -> int:
    """Dispatch ``lamina rl train`` / ``lamina rl eval``; returns the exit status."""
    return _train(args) if args.rl_cmd == "train" else _eval(args)


def _train(args) -> int:
    from ..io import atomic_write
    from ..rl import ALGORITHMS, PRESETS, RLProgressBar, plot_learning_curves
    algo = args.algo.lower()
    if algo not in ALGORITHMS:
        raise ValueError(f"lamina rl train: expected ALGO in {sorted(ALGORITHMS)}, got "
                         f"{args.algo!r}")
    cls, hp = ALGORITHMS[algo], _overrides(args.set)
    if args.env_id in PRESETS.get(algo, {}):
        agent = cls.from_preset(args.env_id, seed=args.seed, **hp)
    else:
        agent = cls(args.env_id, seed=args.seed, **hp)
    steps = args.timesteps or agent.preset_timesteps
    if not steps:
        raise ValueError(f"lamina rl train: expected --timesteps (no preset for {algo} on "
                         f"{args.env_id}), got none")
    out = args.out or os.path.join("runs", f"rl-{algo}-{args.env_id}-s{args.seed}")
    os.makedirs(out, exist_ok=True)
    cbs = [] if args.quiet else [RLProgressBar()]
    if args.tensorboard:
        from ..rl import RLTensorBoard
        cbs.append(RLTensorBoard(os.path.join(out, "tb")))
    agent.learn(steps, callbacks=cbs)
    agent.save(os.path.join(out, "agent.safetensors"))
    h = agent.history.history
    rows = zip(h.get("timesteps", []), h.get("episode_return", []),
               h.get("episode_length", []))
    atomic_write(os.path.join(out, "episodes.csv"), "timesteps,episode_return,episode_length\n"
                 + "".join(f"{int(t)},{r:g},{int(n)}\n" for t, r, n in rows))
    plot_learning_curves({f"{algo} seed {args.seed}": [agent.history]},
                         os.path.join(out, "learning_curve.png"), title=args.env_id)
    mean, std = agent.evaluate(args.eval_episodes)
    summary = {"algo": algo, "env_id": args.env_id, "seed": args.seed, "timesteps": steps,
               "eval_episodes": args.eval_episodes, "eval_mean": mean, "eval_std": std}
    atomic_write(os.path.join(out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(f"{algo} on {args.env_id}: {mean:.1f} +- {std:.1f} over {args.eval_episodes} "
          f"episodes; run saved to {out}")
    return 0


def _eval(args) -> int:
    from ..rl import Agent, render_gif
    path = os.path.join(args.run_dir, "agent.safetensors")
    if not os.path.exists(path):
        raise OSError(f"lamina rl eval: expected {path} (from `lamina rl train`), got no such "
                      "file")
    agent = Agent.load(path)
    mean, std = agent.evaluate(args.episodes, seed=args.seed)
    print(f"{agent.algo} on {agent.env_id}: {mean:.1f} +- {std:.1f} over {args.episodes} "
          "episodes")
    if args.render_gif:
        gif = os.path.join(args.run_dir, "episode.gif")
        n = render_gif(agent, gif)
        print(f"wrote {gif} ({n} frames)")
    return 0

"""``lamina rl train`` / ``lamina rl eval`` through ``lamina.cli.main``."""

import json

import pytest

pytest.importorskip("gymnasium")

from lamina.cli import main  # noqa: E402


def test_rl_train_then_eval_with_gif(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["rl", "train", "ppo", "CartPole-v1", "--timesteps", "512", "--seed", "1",
               "--set", "n_envs=2", "--set", "n_epochs=2", "--out", str(out), "--quiet",
               "--eval-episodes", "2"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algo"] == "ppo" and summary["eval_mean"] > 0
    assert (out / "learning_curve.png").stat().st_size > 1000
    assert (out / "episodes.csv").read_text().startswith("timesteps,episode_return")
    capsys.readouterr()
    assert main(["rl", "eval", str(out), "--episodes", "2"]) == 0
    assert "ppo on CartPole-v1" in capsys.readouterr().out


class _Painted:
    """CartPole whose rgb_array frames are painted by hand (no pygame needed)."""

    def __new__(cls, render_mode=None):
        import gymnasium as gym
        import numpy as np

        class Env(gym.Wrapper):
            def render(self):
                x = float(self.env.unwrapped.state[0])
                frame = np.zeros((40, 60, 3), np.uint8)
                frame[:, int(np.clip(30 + 10 * x, 0, 59))] = 255
                return frame
        return Env(gym.make("CartPole-v1"))


def test_rl_eval_render_gif(tmp_path, capsys):
    import gymnasium as gym
    if "LaminaPaintedCartPole-v0" not in gym.registry:
        gym.register("LaminaPaintedCartPole-v0", entry_point=_Painted)
    out = tmp_path / "run"
    assert main(["rl", "train", "dqn", "LaminaPaintedCartPole-v0", "--timesteps", "200",
                 "--out", str(out), "--quiet", "--eval-episodes", "1"]) == 0
    assert main(["rl", "eval", str(out), "--episodes", "1", "--render-gif"]) == 0
    assert "frames" in capsys.readouterr().out
    assert (out / "episode.gif").read_bytes()[:3] == b"GIF"


def test_rl_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["rl", "train", "sac", "CartPole-v1", "--timesteps", "10"]) == 2
    assert "expected ALGO in" in capsys.readouterr().err
    assert main(["rl", "train", "ppo", "CartPole-v1", "--set", "n_stpes=3",
                 "--timesteps", "10", "--out", str(tmp_path / "x")]) == 2
    assert "n_stpes" in capsys.readouterr().err
    assert main(["rl", "eval", str(tmp_path / "missing")]) == 2
    assert "agent.safetensors" in capsys.readouterr().err

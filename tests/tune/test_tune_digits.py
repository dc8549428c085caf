"""lamina tune on real data: the digits MLP (slow outcome test) and the CLI end to end."""

import tomllib

import pytest

optuna = pytest.importorskip("optuna")

from lamina import tune as T  # noqa: E402
from lamina.cli import main  # noqa: E402
from lamina.cli.cmd_tune import train_config  # noqa: E402
from lamina.cli.config import load_config, validate  # noqa: E402

SPACE = {"optim.lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
         "model.hidden": {"type": "categorical", "choices": [[32], [128], [256, 128]]},
         "model.dropout": {"type": "float", "low": 0.0, "high": 0.3}}


@pytest.mark.slow
def test_tpe_and_median_pruner_beat_the_default_and_save_epochs(tmp_path):
    cfg = validate(load_config("lamina/configs/digits_mlp.toml"))
    cfg["train"].update(epochs=8, out_dir=str(tmp_path / "runs"))
    default = T.TrialReporter(_FakeTrial(), "val_accuracy")
    train_config(cfg, [default], "default")
    study = T.tune(cfg, SPACE, 30, train_config, sampler="tpe", pruner="median", seed=0,
                   out_dir=tmp_path / "out")
    saved = T.pruned_epoch_savings(study, 8)
    print(f"default {default.values[-1]:.4f} best {study.best_value:.4f} saved {saved:.0%}")
    assert study.best_value >= default.values[-1]
    assert saved >= 0.30


class _FakeTrial:
    def set_user_attr(self, *a): ...

    def report(self, *a): ...

    def should_prune(self):
        return False


@pytest.mark.slow
def test_lamina_tune_cli_end_to_end(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[optim.lr]\ntype = "float"\nlow = 1e-3\nhigh = 1e-2\nlog = true\n')
    out = tmp_path / "out"
    rc = main(["tune", "lamina/configs/digits_mlp.toml", "--space", str(space), "--trials", "2",
               "--set", "train.epochs=2", "--set", "model.hidden=[16]", "--pruner", "none",
               "--storage", f"sqlite:///{tmp_path / 'study.db'}", "--study", "cli",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "2 trials: 2 complete" in text
    best = tomllib.loads((out / "best_config.toml").read_text())
    assert 1e-3 <= best["optim"]["lr"] <= 1e-2 and best["model"]["hidden"] == [16]
    runs = sorted((out / "trials").glob("trial-*/history.csv"))
    assert len(runs) == 2  # each trial is an ordinary run directory


def test_lamina_tune_cli_rejects_a_bad_space(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[optim.lr]\ntype = "uniformish"\n')
    rc = main(["tune", "--space", str(space), "--trials", "1", "--out", str(tmp_path)])
    assert rc == 2
    assert "optim.lr.type" in capsys.readouterr().err

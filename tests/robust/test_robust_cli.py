"""`lamina robustness RUN_DIR` writes the report, curve and grid; `lamina train` accepts an
[adversarial] section; bad arguments exit 2 with one line."""

import json

import pytest

from lamina.cli import main

FAST = ["--set", "model.name=mlp", "--set", "train.epochs=2", "--set", "schedule.name=none",
        "--quiet"]


def test_train_with_adversarial_section_then_robustness(tmp_path, capsys):
    rc = main(["train", *FAST, "--set", f"train.out_dir={tmp_path / 'runs'}",
               "--set", "adversarial.method=fast", "--set", "adversarial.eps=0.1"])
    assert rc == 0
    (run,) = sorted((tmp_path / "runs").iterdir())
    assert "[adversarial]" in (run / "config.toml").read_text()
    m = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] > 0.7
    out = tmp_path / "rep"
    rc = main(["robustness", str(run), "--eps", "0.1,0.3", "-o", str(out), "-n", "30",
               "--steps", "3", "--square-queries", "10"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "| eps |" in text and "worst" in text
    for f in ("robustness.md", "robustness.json", "accuracy_vs_eps.png", "adversarial_grid.png"):
        assert (out / f).exists(), f
    rep = json.loads((out / "robustness.json").read_text())
    assert rep["eps"] == [0.1, 0.3] and rep["rows"][1]["worst"] <= rep["rows"][0]["worst"]


@pytest.mark.parametrize("args,needle", [
    (["robustness", "nowhere"], "not a finished run directory"),
])
def test_robustness_errors_exit_2(tmp_path, capsys, args, needle):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_adversarial_section_is_validated(tmp_path, capsys):
    rc = main(["train", *FAST, "--set", f"train.out_dir={tmp_path}",
               "--set", "adversarial.method=madry"])
    assert rc == 2
    assert "adversarial.method 'madry' is not one of" in capsys.readouterr().err

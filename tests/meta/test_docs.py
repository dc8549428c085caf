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


def test_package_configs_match_examples_and_are_package_data():
    examples = sorted((ROOT / "examples" / "configs").glob("*.toml"))
    shipped = {p.name: p for p in (ROOT / "lamina" / "configs").glob("*.toml")}
    assert examples, "examples/configs/ holds no configs"
    for p in examples:
        assert p.name in shipped, f"lamina/configs/ lacks {p.name} (README refers to it)"
        assert shipped[p.name].read_bytes() == p.read_bytes(), f"lamina/configs/{p.name} drifted"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'lamina = ["configs/*.toml"]' in pyproject


def test_readme_configs_are_shipped():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"examples/configs/([\w.-]+\.toml)", readme))
    assert named
    missing = [n for n in named if not (ROOT / "lamina" / "configs" / n).exists()]
    assert not missing, f"README names configs the wheel would not carry: {missing}"


def test_docs_site_builds_offline_and_ci_runs_it():
    cfg = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "font: false" in cfg and "- social" not in cfg
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev docs-build" in ci and "set -euo pipefail" in ci
    assert "build --strict" in (ROOT / "dev").read_text(encoding="utf-8")


def test_concepts_names_real_classes():
    import lamina.models as models

    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    for name in re.findall(r"`(TinyTransformer\w*)`", text):
        assert hasattr(models, name), f"docs/concepts.md names absent lamina.models.{name}"

"""The generated config reference, --print-config and --version."""

import tomllib
from pathlib import Path

import pytest

from lamina import __version__
from lamina.cli import main
from lamina.cli.config import SCHEMA
from lamina.cli.reference import render_reference

ROOT = Path(__file__).resolve().parents[2]


def test_docs_config_md_is_current():
    text = (ROOT / "docs" / "config.md").read_text()
    assert text == render_reference(), (
        "docs/config.md is stale: run `python -m lamina.cli.reference > docs/config.md`")


def test_reference_lists_every_schema_key():
    text = render_reference()
    for section, keys in SCHEMA.items():
        if section:
            assert f"## [{section}]" in text
        for key, typ in keys.items():
            if section == "" and typ is dict:
                continue
            assert f"| `{key}` |" in text, f"{section}.{key} missing from the reference"
    assert "python -m lamina.cli.reference > docs/config.md" in text.splitlines()[2]


def test_print_config_resolves_overrides_and_does_not_train(tmp_path, capsys):
    rc = main(["train", "--print-config", "--set", "train.epochs=3", "--set",
               f"train.out_dir={tmp_path}"])
    assert rc == 0
    cfg = tomllib.loads(capsys.readouterr().out)
    assert cfg["train"]["epochs"] == 3
    assert cfg["optim"]["name"] == "adam"  # a default filled in
    assert list(tmp_path.iterdir()) == []  # nothing trained, no run directory


def test_print_config_validates(capsys):
    assert main(["train", "--print-config", "--set", "optim.lr=-1"]) == 2
    assert "optim.lr" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"lamina {__version__}"


def test_models_lists_every_model_name_with_an_input_shape(capsys):
    from lamina.cli.build import REFERENCE_MODELS
    from lamina.cli.zoo import MODEL_INFO
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {ln.split()[0]: ln for ln in lines[1:] if ln and not ln.startswith("or ")}
    assert set(rows) == set(REFERENCE_MODELS)
    for name in REFERENCE_MODELS:
        assert MODEL_INFO[name][0] in rows[name], f"{name}: no input shape printed"


def test_csv_walkthrough_config_validates(tmp_path, capsys):
    text = render_reference()
    block = text.split("## Train on your own CSV")[1].split("```toml\n")[1].split("```")[0]
    path = tmp_path / "mine.toml"
    path.write_text(block)
    assert main(["train", str(path), "--print-config"]) == 0
    cfg = tomllib.loads(capsys.readouterr().out)
    assert cfg["data"]["csv"] == "my_table.csv" and "dataset" not in cfg["data"]

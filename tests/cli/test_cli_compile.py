"""`lamina train --compile`: the captured step trains exactly as the eager one."""

from __future__ import annotations

from pathlib import Path

from lamina.cli import main

CFG = str(Path(__file__).resolve().parents[2] / "lamina" / "configs" / "breast_cancer.toml")


def _history(out: Path, *extra) -> str:
    rc = main(["train", CFG, "--set", "train.epochs=3", "--set", f"train.out_dir={out}",
               "--quiet", *extra])
    assert rc == 0
    (run,) = out.iterdir()
    return (run / "history.csv").read_text()


def test_compile_flag_reproduces_the_eager_history(tmp_path, recwarn):
    eager = _history(tmp_path / "eager")
    compiled = _history(tmp_path / "compiled", "--compile")
    assert not [w for w in recwarn if "lamina.compile" in str(w.message)]  # replayed, no fallback
    assert eager == compiled            # same losses, accuracies and learning rates, bit for bit
    assert len(eager.splitlines()) == 4


def test_compile_key_in_printed_config(capsys):
    assert main(["train", CFG, "--compile", "--print-config"]) == 0
    assert "compile = true" in capsys.readouterr().out

"""PyTorch tutorial-style scripts run unchanged but for ``import torch`` -> ``import lamina as
torch``; each asserts its own outcome (an accuracy or loss threshold)."""

import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = sorted(HERE.glob("tut_*.py"))


def _run(src: str, tmp_path):
    path = tmp_path / "script.py"
    path.write_text(src, encoding="utf-8")
    res = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_runs_with_lamina(script, tmp_path):
    src = script.read_text(encoding="utf-8")
    assert "import torch\n" in src
    _run(src.replace("import torch\n", "import lamina as torch\n", 1), tmp_path)


@pytest.mark.torch
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_runs_with_torch(script, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    _run(script.read_text(encoding="utf-8"), tmp_path)

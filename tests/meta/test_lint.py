"""ruff (configured in pyproject.toml: 100 columns) passes on the package, tests and tools."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ruff():
    exe = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    return exe if pathlib.Path(exe).exists() else None


def test_ruff_check_is_clean():
    exe = _ruff()
    if exe is None:  # the test extra installs ruff; a bare install has nothing to run
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    paths = [p for p in ("lamina", "tests", "benchmarks", "examples") if (ROOT / p).exists()]
    r = subprocess.run([exe, "check", "--no-cache", *paths], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, f"ruff check found problems:\n{r.stdout}{r.stderr}"

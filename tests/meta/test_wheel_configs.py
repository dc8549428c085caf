"""The built wheel carries the example configs README refers to (~5 s: builds a wheel)."""

import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_wheel_contains_example_configs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("lamina-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in (ROOT / "examples" / "configs").glob("*.toml"):
        assert f"lamina/configs/{p.name}" in names

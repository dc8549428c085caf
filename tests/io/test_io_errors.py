"""Damaged weight files give one clear ValueError; atomic writes get the usual file mode."""

import os
import stat

import pytest

import lamina
from lamina.io import atomic_write


def test_truncated_and_corrupt_files(tmp_path):
    p = tmp_path / "w.safetensors"
    lamina.save({"w": lamina.ones(64, 64)}, p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged|truncated"):
        lamina.load(p)
    p.write_bytes(data[:20])
    with pytest.raises(ValueError, match="truncated"):
        lamina.load(p)


def test_atomic_write_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o644

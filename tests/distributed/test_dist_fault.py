"""Fault tolerance: a killed or hung rank ends the job non-zero in bounded time, and relaunching
with resume gives bit-identical final weights."""

import time

import numpy as np
import pytest
from mpi_launch import run_mpi


@pytest.mark.mpi
def test_killed_rank_ends_job_and_resume_is_bit_identical(tmp_path, digits_file):
    env = {"LAMINA_TEST_DIGITS": str(digits_file)}
    full, broken = tmp_path / "full", tmp_path / "broken"
    full.mkdir()
    broken.mkdir()
    run_mpi(2, "dist_kill_worker.py", full, "full", env=env)
    t0 = time.monotonic()
    p = run_mpi(2, "dist_kill_worker.py", broken, "kill", check=False, timeout=120, env=env)
    assert p.returncode != 0
    assert time.monotonic() - t0 < 60
    assert (broken / "ckpt.safetensors").exists() and not (broken / "final.npz").exists()
    run_mpi(2, "dist_kill_worker.py", broken, "resume", env=env)
    a, b = np.load(full / "final.npz"), np.load(broken / "final.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.mpi
def test_hung_rank_hits_the_collective_timeout(tmp_path):
    t0 = time.monotonic()
    p = run_mpi(2, "dist_kill_worker.py", tmp_path, "hang", check=False, timeout=100)
    assert p.returncode != 0
    assert time.monotonic() - t0 < 60
    assert "did not complete within 3 s" in p.stderr + p.stdout

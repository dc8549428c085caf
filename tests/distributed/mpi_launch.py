"""Launch a worker script under the pip ``mpiexec`` next to the interpreter (shared helper)."""

import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def mpiexec():
    """The ``mpiexec`` beside ``sys.executable``; skips the test when mpi4py or it is absent."""
    pytest.importorskip("mpi4py")
    exe = pathlib.Path(sys.executable).parent / "mpiexec"
    if not exe.exists():
        pytest.skip("mpiexec not found next to the interpreter (pip install mpich)")
    return str(exe)


def run_mpi(n, script, *args, timeout=120, env=None, check=True):
    """Run ``mpiexec -n n python script args``; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    cmd = [mpiexec(), "-n", str(n), sys.executable, str(HERE / script), *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                       cwd=str(ROOT))
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def digits_npz(tmp_dir):
    """Write digits' (flattened) training part to ``tmp_dir/digits.npz`` once, so worker ranks
    skip importing scikit-learn; returns the path."""
    import numpy as np

    from lamina import datasets
    path = pathlib.Path(tmp_dir) / "digits_v2.npz"
    if not path.exists():
        d = datasets.load("digits", flatten=True)
        np.savez(path, x=d.x_train, y=d.y_train, x_test=d.x_test, y_test=d.y_test)
    return path
